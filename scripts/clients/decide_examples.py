"""Decides every example through the Python client that openapi-python-client generated
from openapi.yaml, as a shop backend would: each request becomes the client's typed
model (`from_dict`), goes through the client's typed function, and must come back as a
typed `DecisionView` (enums as enums, times as datetimes). A model that loses a field of
an example, or a response the client cannot parse, fails the run.

    decide_examples.py --client DIR --base-url URL --cli PATH

- tests/fixtures/examples/*.json: `request` is decided and checked against `expect`;
  with `expect_error`, the typed model itself must refuse the request (the field the
  server would point at is missing), so it is never sent.
- examples/*.json that are one request: the answer must agree with `aftersales decide`
  (the command line, no HTTP) on scenario, decision, deadlines, actions and warnings.
- all of them again in one `POST /v1/decisions/batch`, through the typed batch models;
- requests the typed models accept but the server refuses (a pasted trace with a header
  line, epoch seconds for milliseconds): a typed 422 `Problem` whose `errors` are
  `FieldError`s pointing at the field, as a shop backend reads them.
"""

import argparse
import datetime
import enum
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]

parser = argparse.ArgumentParser()
parser.add_argument(
    "--client", required=True, help="directory holding aftersales_client"
)
parser.add_argument("--base-url", default="http://127.0.0.1:8080")
parser.add_argument("--cli", default=str(ROOT / "target/debug/aftersales"))
args = parser.parse_args()
sys.path.insert(0, args.client)

import httpx
from aftersales_client import AuthenticatedClient, Client, errors
from aftersales_client.api.decisions import create_batch, create_decision
from aftersales_client.models import (
    Action,
    BatchRequest,
    BatchView,
    CompactBatchView,
    CompactDecisionView,
    CreateBatchView,
    CreateDecisionView,
    DeadlineKind,
    DecisionRequest,
    DecisionView,
    Evidence,
    FieldError,
    Finding,
    KuaishouRefundRequest,
    Language,
    Outcome,
    Problem,
    Scenario,
    WarningCode,
)

failures: list[str] = []


def fail(name: str, message: str) -> None:
    failures.append(f"{name}: {message}")
    print(f"  FAIL {name}: {message}")


def request_model(body: dict):
    """The client's model for one request; it must carry every field of the example."""
    model_type = KuaishouRefundRequest if "kuaishou_refund" in body else DecisionRequest
    model = model_type.from_dict(body)
    if model.to_dict() != body:
        raise ValueError(
            f"{model_type.__name__} does not carry the example as sent: "
            f"{json.dumps(model.to_dict(), ensure_ascii=False)}"
        )
    return model


def typed(view: DecisionView) -> list[str]:
    """Every coded field of the view as its enum, every time as an aware datetime."""
    problems = []

    def want(value, kind, where):
        if not isinstance(value, kind):
            problems.append(f"{where} is {type(value).__name__}, not {kind.__name__}")

    want(view.scenario, Scenario, "scenario")
    want(view.decision, Outcome, "decision")
    want(view.as_of, datetime.datetime, "as_of")
    if isinstance(view.as_of, datetime.datetime) and view.as_of.utcoffset() is None:
        problems.append("as_of has no offset")
    for i, d in enumerate(view.deadlines):
        want(d.kind, DeadlineKind, f"deadlines[{i}].kind")
        want(d.due_at, datetime.datetime, f"deadlines[{i}].due_at")
    for i, a in enumerate(view.actions):
        want(a.code, Action, f"actions[{i}].code")
    for i, e in enumerate(view.evidence):
        for j, code in enumerate(e.one_of):
            want(code, Evidence, f"evidence[{i}].one_of[{j}]")
    for i, e in enumerate(view.explanation):
        want(e.code, Finding, f"explanation[{i}].code")
    for i, w in enumerate(view.warnings):
        want(w.code, WarningCode, f"warnings[{i}].code")
    if view.zone is not None:
        want(view.zone.control_from, datetime.datetime, "zone.control_from")
    return problems


def check_expect(name: str, view: DecisionView, expect: dict) -> None:
    got = {
        "applies": view.applies,
        "scenario": view.scenario,
        "decision": view.decision,
        "zone_controlled": view.zone.controlled if view.zone is not None else None,
        "phase": view.event.phase,
    }
    want = {
        "scenario": Scenario(expect["scenario"]),
        "decision": Outcome(expect["decision"]),
        **{
            k: expect[k] for k in ("applies", "zone_controlled", "phase") if k in expect
        },
    }
    for key, value in want.items():
        if got[key] != value:
            fail(name, f"{key} is {got[key]!r}, expected {value!r}")
    deadlines = {d.kind: d for d in view.deadlines}
    for kind, due in expect.get("deadlines", {}).items():
        d = deadlines.get(DeadlineKind(kind))
        if d is None or d.due_at != datetime.datetime.fromisoformat(due):
            fail(name, f"deadline {kind} is {d and d.due_at}, expected {due}")
    for kind, seconds in expect.get("remaining", {}).items():
        d = deadlines.get(DeadlineKind(kind))
        if d is None or d.remaining_seconds != seconds:
            fail(
                name,
                f"{kind} remaining is {d and d.remaining_seconds}, expected {seconds}",
            )
    if "evidence" in expect:
        evidence = [[Evidence(c) for c in one_of] for one_of in expect["evidence"]]
        if [e.one_of for e in view.evidence] != evidence:
            fail(
                name,
                f"evidence is {[e.one_of for e in view.evidence]}, expected {evidence}",
            )


def summary(view: DecisionView) -> dict:
    """What the command line's answer must agree on (times as instants, codes as text)."""

    def code(v):
        return v.value if isinstance(v, enum.Enum) else v

    return {
        "scenario": code(view.scenario),
        "decision": code(view.decision),
        "deadlines": [(code(d.kind), d.due_at) for d in view.deadlines],
        "actions": [code(a.code) for a in view.actions],
        "warnings": [code(w.code) for w in view.warnings],
    }


def cli_summary(path: pathlib.Path) -> dict:
    out = subprocess.run(
        [args.cli, "decide", str(path)], capture_output=True, check=True
    )
    v = json.loads(out.stdout)
    return {
        "scenario": v["scenario"],
        "decision": v["decision"],
        "deadlines": [
            (d["kind"], datetime.datetime.fromisoformat(d["due_at"]))
            for d in v["deadlines"]
        ],
        "actions": [a["code"] for a in v["actions"]],
        "warnings": [w["code"] for w in v["warnings"]],
    }


def decide(client, name: str, body: dict) -> DecisionView | None:
    try:
        model = request_model(body)
    except (KeyError, ValueError, TypeError) as e:
        fail(name, f"the client's request model refuses it: {e!r}")
        return None
    try:
        response = create_decision.sync_detailed(
            client=client, body=model, lang=Language.EN
        )
    except (
        httpx.HTTPError,
        errors.UnexpectedStatus,
        KeyError,
        ValueError,
        TypeError,
    ) as e:
        # The client could not send it, or could not read the answer as typed.
        fail(name, f"the client failed: {e!r}")
        return None
    view = response.parsed
    if not isinstance(view, DecisionView):
        fail(
            name, f"{response.status_code}: {response.content.decode(errors='replace')}"
        )
        return None
    for problem in typed(view):
        fail(name, problem)
    return view


plain = Client(base_url=args.base_url, raise_on_unexpected_status=True, timeout=30.0)
# The same functions take a client with a token: a server without tokens ignores it.
with_token = AuthenticatedClient(
    base_url=args.base_url, token="unused-by-a-server-without-tokens", timeout=30.0
)

decided: dict[str, DecisionView | None] = {}
batch_items: list[dict] = []
batch_expect: list[tuple[str, dict]] = []
count = 0

for path in sorted((ROOT / "tests/fixtures/examples").glob("*.json")):
    case = json.loads(path.read_text())
    name = f"tests/fixtures/examples/{path.name}"
    if "expect_error" in case:
        missing = case["expect_error"]["pointer"].lstrip("/")
        try:
            request_model(case["request"])
            fail(name, f"the typed model accepts a request without {missing}")
        except KeyError as e:
            if e.args != (missing,):
                fail(name, f"the typed model misses {e.args}, expected {missing!r}")
        count += 1
        print(f"  ok   {name}: refused by the typed model ({missing} missing)")
        continue
    view = decide(plain, name, case["request"])
    if view is not None:
        check_expect(name, view, case["expect"])
        print(f"  ok   {name}: {view.scenario.value} -> {view.decision.value}")
    batch_items.append(case["request"])
    batch_expect.append((name, case["expect"]))
    count += 1

for path in sorted((ROOT / "examples").glob("*.json")):
    body = json.loads(path.read_text())
    name = f"examples/{path.name}"
    if not ("refund_type" in body or "kuaishou_refund" in body):
        # The batch example (with an invalid item on purpose) and reference material.
        print(f"  skip {name}: not a single request")
        continue
    view = decide(with_token, name, body)
    decided[name] = view
    if view is not None:
        expected = cli_summary(path)
        if summary(view) != expected:
            fail(name, f"HTTP says {summary(view)}, the command line {expected}")
        print(f"  ok   {name}: {view.scenario.value} -> {view.decision.value}")
    count += 1

batch = BatchRequest.from_dict({"items": batch_items})
response = create_batch.sync_detailed(client=with_token, body=batch)
result = response.parsed
if not isinstance(result, BatchView):
    fail(
        "batch", f"{response.status_code}: {response.content.decode(errors='replace')}"
    )
elif len(result.results) != len(batch_expect) or result.failed != 0:
    fail(
        "batch",
        f"{result.succeeded} decided, {result.failed} refused of {len(batch_expect)}",
    )
else:
    for (name, expect), item in zip(batch_expect, result.results):
        if not isinstance(item.decision, DecisionView):
            fail(f"batch {name}", f"no decision: {item.problem}")
            continue
        for problem in typed(item.decision):
            fail(f"batch {name}", problem)
        check_expect(f"batch {name}", item.decision, expect)
    print(f"  ok   batch of {len(batch_expect)}: every item decided as on its own")

# The compact view comes back as the client's compact models (the answer's `view` tells
# them apart), codes as enums, and agrees with the full view of the same case.
stalled = json.loads((ROOT / "examples/stalled.json").read_text())
full = decided.get("examples/stalled.json")
response = create_decision.sync_detailed(
    client=plain,
    body=DecisionRequest.from_dict(stalled),
    view=CreateDecisionView.COMPACT,
)
compact = response.parsed
if not isinstance(compact, CompactDecisionView):
    fail("compact", f"{response.status_code}: {response.content.decode(errors='replace')}")
elif full is not None and (
    compact.scenario != full.scenario
    or compact.decision != full.decision
    or [a.code for a in compact.actions] != [a.code for a in full.actions]
    or not all(isinstance(a.code, Action) for a in compact.actions)
    or [(e.rule, e.code) for e in compact.explanation]
    != [(e.rule, e.code) for e in full.explanation]
    or [d.remaining_seconds for d in compact.deadlines]
    != [d.remaining_seconds for d in full.deadlines]
    or compact.event.in_impact_period != full.event.in_impact_period
):
    fail("compact", f"compact {compact.to_dict()} disagrees with the full view")
else:
    count += 1
    print(f"  ok   compact view: {compact.scenario.value} -> {compact.decision.value}, typed")
response = create_batch.sync_detailed(
    client=plain,
    body=BatchRequest.from_dict({"items": [stalled]}),
    view=CreateBatchView.COMPACT,
)
if not isinstance(response.parsed, CompactBatchView) or not all(
    isinstance(r.decision, CompactDecisionView) for r in response.parsed.results
):
    fail("compact batch", f"{response.status_code}: {response.content.decode(errors='replace')}")
else:
    count += 1
    print("  ok   compact batch: read as the compact models")

# Refused by the server, read as a typed Problem (the typed models cannot know these).
refusals = [
    (
        "a pasted trace line without its year",
        {"logistics_text": "10-10 14:00 【杭州市】快件已到达 杭州转运中心"},
        "/logistics_text",
        "line 1",
    ),
    (
        "epoch seconds for milliseconds",
        {"requested_at": 1696986000},
        "/requested_at",
        "epoch seconds",
    ),
]
not_shipped = json.loads((ROOT / "examples/not-shipped.json").read_text())
for name, change, pointer, words in refusals:
    model = DecisionRequest.from_dict({**not_shipped, **change})
    response = create_decision.sync_detailed(client=plain, body=model)
    problem = response.parsed
    if response.status_code != 422 or not isinstance(problem, Problem):
        fail(
            name, f"{response.status_code}: {response.content.decode(errors='replace')}"
        )
        continue
    errors = problem.errors if isinstance(problem.errors, list) else []
    if not (
        problem.status == 422
        and errors
        and all(isinstance(e, FieldError) for e in errors)
        and errors[0].pointer == pointer
        and words in errors[0].message
    ):
        fail(name, f"the Problem is not as expected: {problem.to_dict()}")
        continue
    count += 1
    print(f"  ok   {name}: 422 at {pointer}, typed")

# A Kuaishou body built from a push message: `orderId` (no `oid`), a flattened
# `expressNo`, the order detail's own oid. The typed model must carry it and the server
# decide it; without either order id, or with a status of the other refund type than
# handlingWay, the server refuses it with a typed Problem at the pointers.
pushed = {
    "kuaishou_refund": {
        "refundId": "2150361234567890",
        "orderId": 2309281234567890,
        "status": 40,
        "handlingWay": 1,
        "submitTime": 1696298400000,
        "expireTime": 1696393800000,
        "expressNo": "YT7412345678901",
    },
    "kuaishou_order": {
        "orderBaseInfo": {
            "oid": "2309281234567890",
            "sendTime": 1695974400000,
            "recvTime": 0,
        }
    },
    "as_of": "2023-10-04T09:00:00+08:00",
    "destination": {"address": "江苏省南京市鼓楼区中山路1号"},
    "return": {"trace_text": "2023-10-03 12:00 【南京市】圆通速递 已揽收"},
}
view = decide(plain, "a Kuaishou body from a push message (orderId)", pushed)
if view is not None:
    count += 1
    print(
        f"  ok   a Kuaishou body from a push message: {view.scenario.value} -> {view.decision.value}"
    )
kuaishou_refusals = [
    (
        "a Kuaishou body with neither oid nor orderId",
        {k: v for k, v in pushed["kuaishou_refund"].items() if k != "orderId"},
        ["/kuaishou_refund/oid"],
    ),
    (
        "a Kuaishou return status with handlingWay 10",
        {**pushed["kuaishou_refund"], "handlingWay": 10},
        ["/kuaishou_refund/status", "/kuaishou_refund/handlingWay"],
    ),
]
for name, detail, pointers in kuaishou_refusals:
    try:
        model = request_model({**pushed, "kuaishou_refund": detail})
    except (KeyError, ValueError, TypeError) as e:
        fail(name, f"the client's request model refuses it: {e!r}")
        continue
    response = create_decision.sync_detailed(client=plain, body=model)
    problem = response.parsed
    errors_ = (
        problem.errors
        if isinstance(problem, Problem) and isinstance(problem.errors, list)
        else []
    )
    if response.status_code != 422 or [e.pointer for e in errors_] != pointers:
        fail(
            name, f"{response.status_code}: {response.content.decode(errors='replace')}"
        )
        continue
    count += 1
    print(f"  ok   {name}: 422 at {', '.join(pointers)}, typed")

if failures:
    print(f"{len(failures)} problem(s) with {count} examples through the Python client")
    sys.exit(1)
print(f"{count} examples and one batch decided through the typed Python client")
