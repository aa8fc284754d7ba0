"""The per-stretch input loop (Node.submit_inputs) gives exactly the one-by-one results."""


import numpy as np
import pytest

from sim.runner import Model
from sim.scenario import DeprecationSection, load_scenario
from tests.model_compare import assert_same_results, feed_one_by_one


def _run(name: str, seconds: float, stretch: bool, seed: int = 3, **update):  # type: ignore[no-untyped-def]
    if name == "canary-regression":
        # regression-rollback's V2 pool regression, early in the canary (5 % on V2).
        faults = load_scenario("regression-rollback").faults
        sc = load_scenario("canary")
        update["faults"] = tuple(f.model_copy(update={"start": 120.0}) for f in faults)
    elif name == "retired-regression":
        # Both modules at 100 % V2 and V1 deprecated after 60 s; then a V2 pool regression
        # opens the breaker, so refused calls fall to the retired V1 and fail there.
        faults = load_scenario("regression-rollback").faults
        sc = load_scenario("canary")
        env = sc.env.replace('TRANSACTION_POOL_TRAFFIC="5"', 'TRANSACTION_POOL_TRAFFIC="100"')
        env = env.replace('SYNC_SERVICE_TRAFFIC="5"', 'SYNC_SERVICE_TRAFFIC="100"')
        update["env"] = env
        update["rollout"] = sc.rollout.model_copy(
            update={"deprecation": DeprecationSection(hold=60.0)})
        pool_faults = tuple(f.model_copy(update={"start": 240.0}) for f in faults)
        update["faults"] = pool_faults + tuple(
            f.model_copy(update={"module": "sync_service"}) for f in pool_faults)
    else:
        sc = load_scenario(name)
    sc = sc.model_copy(update={"duration": min(sc.duration, seconds), **update})
    model = Model(sc, seed)
    if not stretch:
        feed_one_by_one(model)
    return model, model.execute()


@pytest.mark.parametrize(("name", "seconds", "update"), [
    ("canary", 600.0, {}),
    # A V2 regression: errors, timeouts, fallbacks, the breaker opening (refused calls).
    ("canary-regression", 900.0, {}),
    # Rate-limited flooding peers: the limiter refuses, its log must stay in order.
    ("peer-flood", 900.0, {}),
    ("canary", 300.0, {"profile": "as_written"}),
    # A retired V1 (deprecation) behind a breaker that a V2 regression opens.
    ("retired-regression", 900.0, {}),
])
def test_stretch_loop_equals_one_by_one(name: str, seconds: float, update: dict) -> None:  # type: ignore[type-arg]
    _, fast = _run(name, seconds, True, **update)
    _, slow = _run(name, seconds, False, **update)
    assert_same_results(fast, slow)
    assert fast.summary["ledger"]["node"]["arrived"] > 1_000


def test_stretch_loop_meets_the_cases_it_must_handle() -> None:
    # The scenarios above really exercise V2 offers, breaker refusals and limiter refusals.
    _, flood = _run("peer-flood", 900.0, True)
    assert flood.summary["rate_limit"]["refused"] > 0
    _, reg = _run("canary-regression", 900.0, True)
    assert reg.summary["routing"]["v2_fallbacks"] > 0
    assert reg.summary["transaction_pool"]["v2"]["refused_by_breaker"] > 0
    assert reg.summary["breakers"]["transaction_pool"]["transitions"] > 0
    _, retired = _run("retired-regression", 900.0, True)
    assert [e["kind"] for e in retired.events].count("v1_deprecated") == 1
    assert retired.summary["ledger"]["node"]["dropped"]["v1_retired"] > 0
    assert retired.summary["breakers"]["sync_service"]["transitions"] > 0


def test_split_rule_and_next_draw_reproduce_decide() -> None:
    from dataclasses import replace

    from sim.control import ModuleRouter

    def router(profile: str = "intended") -> ModuleRouter:
        return ModuleRouter(np.random.default_rng(11), profile=profile,  # type: ignore[arg-type]
                            versions={"transaction_pool": "v2"},
                            splits={"transaction_pool": 30, "sync_service": 70})

    ref, fast = router(), router()
    rule = fast.split_rule("transaction_pool")
    assert rule == (True, 30)
    assert fast.split_rule("sync_service") == (False, 70)  # on v1: no draw
    draw = fast.next_draw
    for i in range(3_000):
        module = "transaction_pool" if i % 3 else "sync_service"
        want = ref.decide(module, float(i)).version
        draws, split = fast.split_rule(module)  # type: ignore[misc]
        got = "v2" if draws and split >= draw() else "v1"
        assert got == want
    assert fast.draws_made == ref.draws_made == 2_000
    assert router("as_written").split_rule("transaction_pool") is None
    emergency = router()
    breaker = emergency.breaker("transaction_pool")
    breaker.config = replace(breaker.config, unknown_state_emergency_v1=True)
    assert emergency.split_rule("transaction_pool") is None
    assert fast.v1_counters("sync_service") is fast.v1_counters("sync_service")


def test_a_rule_change_inside_a_stretch_fails_loudly() -> None:
    # The loop reads the routing rules once per stretch; were anything inside a stretch ever
    # to change them, the run must stop rather than route by a stale rule.
    sc = load_scenario("canary").model_copy(update={"duration": 60.0})
    model = Model(sc, 1)
    router = model.router

    class Reconfiguring:
        # The router's draws, except that drawing also changes a split.
        def __init__(self, inner: object) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> object:
            return getattr(self.inner, name)

        def next(self) -> int:
            router.set_split("transaction_pool", 50)
            return self.inner.next()  # type: ignore[attr-defined, no-any-return]

    router._draws = Reconfiguring(router._draws)  # type: ignore[assignment]
    with pytest.raises(RuntimeError, match="routing rules changed inside a stretch"):
        model.execute()
