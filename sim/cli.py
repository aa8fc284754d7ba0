"""The ``mana-sim`` command line: ``run``, ``list``, ``validate``, ``plot``, ``report``.

Exit codes: 0 success; 1 a success criterion failed under ``run --check``; 2 bad input (a
scenario, option or environment file that does not validate: one line naming the file, the
field and what is allowed, never a traceback; for ``plot`` and ``report``, a run folder they
cannot read, and for ``plot`` no matplotlib); 3 the run's ledger did not balance.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from sim.config_error import ConfigError
from sim.duration import parse_duration
from sim.envfile import EnvError, parse_env_text
from sim.scenario import (
    Scenario,
    builtin_names,
    builtin_text,
    env_config_error,
    load_scenario,
    read_text_file,
    resolve_control,
)

EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_LEDGER = 3


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line and exit 2, like every other bad input."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE`` and a pointer to ``--help`` on one line; exit 2."""
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mana-sim",
        description="Simulate the Mana client's V1 -> V2 module rollout (pools, sync, router, "
                    "breakers, rate limiter, rollout control).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser(
        "run", help="run a scenario and print its summary",
        description="Run a scenario (a YAML file or a built-in name; default: canary, one "
                    "simulated hour of mainnet-like load with a 5% V2 canary on both modules) "
                    "and print a summary table.",
        # argparse %-formats help strings but not descriptions or epilogs.
        epilog="exit status: 0 done; 1 a success criterion failed (with --check); 2 bad input "
               "(one line naming the file, the field and what is allowed); 3 the ledger did "
               "not balance.")
    run.add_argument("scenario", nargs="?", default=None,
                     help="scenario YAML file or built-in name (see `mana-sim list`)")
    run.add_argument("--seed", type=int, default=None,
                     help="random seed (overrides the scenario's; same seed, same results)")
    run.add_argument("--out", type=Path, default=None, metavar="DIR",
                     help="write summary.json, timeseries.csv and events.jsonl into DIR")
    run.add_argument("--duration", default=None, metavar="TIME",
                     help="override the simulated duration (seconds, or e.g. 90s, 30m, 2h, 15d)")
    run.add_argument("--env-file", type=Path, default=None, metavar="FILE",
                     help="the guide's environment variables (`export NAME=\"value\"` lines), "
                          "applied over the scenario's env block")
    run.add_argument("--trace", action="store_true",
                     help="trace mode: one SimPy process per input (slow; for teaching and "
                          "small runs; same results as the default fast mode)")
    run.add_argument("--check", action="store_true",
                     help="exit 1 if a success criterion of the guide fails")
    run.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    run.add_argument("--quiet", action="store_true", help="do not print the summary table")
    sub.add_parser("list", help="list the built-in scenarios",
                   description="List the built-in scenarios with their descriptions.")
    validate = sub.add_parser("validate", help="check a scenario file without running it",
                              description="Validate a scenario file or built-in name (and, "
                                          "with --env-file, an environment file over it).")
    validate.add_argument("scenario", help="scenario YAML file or built-in name")
    validate.add_argument("--env-file", type=Path, default=None, metavar="FILE",
                          help="also check this file of the guide's environment variables, "
                               "as `run --env-file` would apply it")
    plot = sub.add_parser(
        "plot", help="draw a run folder's rollout as a PNG (needs the [plot] extra)",
        description="Draw the rollout of a folder written by `mana-sim run --out DIR`: the V2 "
                    "traffic split, transaction-pool throughput and p95 latency, and error "
                    "rates, V1 against V2, with stage changes, alerts, breaker openings, "
                    "rollbacks and faults marked. Needs matplotlib: the [plot] extra "
                    "(pip install '.[plot]' in a checkout) or pip install matplotlib.")
    plot.add_argument("run_dir", type=Path, metavar="RUN_DIR",
                      help="a folder written by `mana-sim run --out RUN_DIR`")
    plot.add_argument("--out", type=Path, default=None, metavar="FILE",
                      help="the PNG to write (default: RUN_DIR/rollout.png)")
    report = sub.add_parser(
        "report", help="write a run folder's HTML report",
        description="Write one self-contained HTML page for a folder written by `mana-sim run "
                    "--out DIR`: the success criteria with their figures, the incident "
                    "timings, the rollout's split changes and rollbacks, the picture of "
                    "`mana-sim plot` (when matplotlib is installed), the summary table and "
                    "the event log.")
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR",
                        help="a folder written by `mana-sim run --out RUN_DIR`")
    report.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="the HTML file to write (default: RUN_DIR/report.html)")
    return parser


def _fail(message: str) -> int:
    print(f"mana-sim: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _load_env_file(path: Path) -> dict[str, str]:
    text = read_text_file(path)
    try:
        return parse_env_text(text)
    except EnvError as exc:
        raise env_config_error(str(path), exc) from None


def _checked_env_file(scenario: Scenario, path: Path | None) -> dict[str, str] | None:
    """Read ``--env-file`` and check it over the scenario, as a run applies it."""
    if path is None:
        return None
    extra_env = _load_env_file(path)
    try:
        resolve_control(scenario, extra_env)
    except EnvError as exc:
        raise env_config_error(str(path), exc) from None
    return extra_env


def _prepare(args: argparse.Namespace) -> tuple[Scenario, dict[str, str] | None]:
    scenario = load_scenario(args.scenario)
    changes: dict[str, object] = {}
    if args.duration is not None:
        try:
            duration = parse_duration(args.duration)
        except ValueError as exc:
            raise ConfigError("--duration", "", str(exc)) from None
        if not duration > 0:
            raise ConfigError("--duration", "", "must be > 0 seconds")
        changes["duration"] = duration
    if args.trace:
        changes["run"] = scenario.run.model_copy(update={"mode": "trace"})
    if changes:
        scenario = scenario.model_copy(update=changes)
    extra_env = _checked_env_file(scenario, args.env_file)
    if args.seed is not None and args.seed < 0:
        raise ConfigError("--seed", "", "must be a non-negative integer")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        # Checked before the run so a long run is not lost at the end.
        raise ConfigError("--out", "", f"{args.out} exists and is not a directory")
    return scenario, extra_env


def _cmd_run(args: argparse.Namespace) -> int:
    from sim.report import summary_table
    from sim.runner import LedgerError, run

    try:
        scenario, extra_env = _prepare(args)
    except ConfigError as exc:
        return _fail(str(exc))
    bar = None
    if not args.no_progress and sys.stderr.isatty():
        from tqdm import tqdm

        # delay=1: the bar appears only for runs longer than a second.
        bar = tqdm(total=round(scenario.duration), unit="sim-s", delay=1.0, leave=False)

    def progress(t: float) -> None:
        if bar is not None:
            bar.update(round(t) - bar.n)

    try:
        result = run(scenario, args.seed, extra_env=extra_env, progress=progress)
    except LedgerError as exc:
        print(f"mana-sim: ledger does not balance: {exc}", file=sys.stderr)
        return EXIT_LEDGER
    except ConfigError as exc:
        # A setting only the built model can check (e.g. an alerts file that vanished).
        return _fail(str(exc))
    finally:
        if bar is not None:
            bar.close()
    if args.out is not None:
        try:
            result.write(args.out)
        except OSError as exc:
            return _fail(f"--out: cannot write {args.out}: {exc.strerror}")
    if not args.quiet:
        print(summary_table(result.summary, result.events), end="")
        if args.out is not None:
            print(f"wrote {args.out}/summary.json, timeseries.csv, events.jsonl")
    if args.check:
        failed = [c for c in result.summary.get("success_criteria", []) if c["passed"] is False]
        if failed:
            return EXIT_CHECK_FAILED
    return 0


def _cmd_list() -> int:
    import yaml

    for name in builtin_names():
        data = yaml.safe_load(builtin_text(name)) or {}
        description = " ".join(str(data.get("description", "")).split())
        print(f"{name}\n    {description}\n")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(args.scenario)
        extra_env = _checked_env_file(scenario, args.env_file)
    except ConfigError as exc:
        return _fail(str(exc))
    with_env = f" with {args.env_file}" if args.env_file is not None else ""
    print(f"{args.scenario}{with_env}: ok (scenario {scenario.name!r}, "
          f"{scenario.duration:.10g} s, profile {scenario.profile})")
    from sim.rollout_link import rollout_warnings  # local: validate needs no model otherwise
    from sim.scenario import config_warnings

    for warning in [*rollout_warnings(scenario, extra_env), *config_warnings(scenario, extra_env)]:
        print(f"{args.scenario}: warning: {warning}", file=sys.stderr)
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from sim.plot import plot_run

    return _write_from_run_dir(plot_run, args)


def _cmd_report(args: argparse.Namespace) -> int:
    from sim.html_report import write_report

    return _write_from_run_dir(write_report, args)


def _write_from_run_dir(write: Callable[[Path, Path | None], Path],
                        args: argparse.Namespace) -> int:
    """Run ``plot`` or ``report``'s writer on ``RUN_DIR``; a folder it cannot use exits 2."""
    from sim.plot import RunFolderError

    try:
        written = write(args.run_dir, args.out)
    except RunFolderError as exc:
        return _fail(str(exc))
    print(f"wrote {written}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mana-sim`` console script.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code.
    """
    if hasattr(signal, "SIGPIPE"):
        # `mana-sim list | head` should end quietly, as other command-line tools do.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = _build_parser().parse_args(argv)
    if args.command == "run":
        return _cmd_run(args)
    if args.command == "list":
        return _cmd_list()
    if args.command == "plot":
        return _cmd_plot(args)
    if args.command == "report":
        return _cmd_report(args)
    return _cmd_validate(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
