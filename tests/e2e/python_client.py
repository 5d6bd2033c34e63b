#!/usr/bin/python3
"""A duban client in another language: Python grpcio with stubs generated from protos/.

Performs the main calls of a supervision campaign against a running stack — a small unit
tree, a contact, a reminder policy, a plan, a task with a lead and a cooperating unit,
acknowledge and progress, the battle map, the reminder ledger, the queue stats — and reads the
google.rpc.BadRequest field violations of bad requests from the grpc-status-details-bin
trailer. Exits 0 when every check holds, 1 with a message naming the failed step otherwise.

  PYTHONPATH=build/python python3 tests/e2e/python_client.py \
      --units 127.0.0.1:7101 --tasks 127.0.0.1:7102 --reminders 127.0.0.1:7103

Run by tests/e2e/python_client_e2e_test.cc against a fresh stack; the ids it creates are
fixed, so it runs once per stack.
"""

import argparse
import datetime
import sys
import time

import grpc
from google.protobuf import timestamp_pb2

# Generated at build time (tests/e2e/python_client.cmake); not checked in.
from duban.reminders.v1 import reminders_pb2 as rpb
from duban.reminders.v1 import reminders_pb2_grpc as rrpc
from duban.tasks.v1 import tasks_pb2 as tpb
from duban.tasks.v1 import tasks_pb2_grpc as trpc
from duban.units.v1 import units_pb2 as upb
from duban.units.v1 import units_pb2_grpc as urpc
from google.rpc import error_details_pb2, status_pb2

TIMEOUT_S = 10  # every call has a deadline, so a stuck server fails the step, not the test run
ACTOR = tpb.Actor(id="user:py-e2e", name="测试员")


class CheckFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CheckFailed(what)


def step(name):
    print(f"== {name}", flush=True)


def ts(when):
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(when)
    return out


def date(d):
    return tpb.Date(year=d.year, month=d.month, day=d.day)


def wait_until(pred, what, timeout_s=30.0):
    """Polls pred every 100 ms; returns its first truthy value or fails naming `what`."""
    end = time.monotonic() + timeout_s
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > end:
            raise CheckFailed(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.1)


def status_details(err):
    """The google.rpc.Status of a failed call, from its trailing metadata.

    grpcio-status (grpc_status.rpc_status.from_call) is not packaged in Debian 12, so this
    does what it does: parse the binary trailer and check it agrees with the call's status.
    """
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            check(status.code == err.code().value[0] and status.message == err.details(),
                  f"details status {status.code} {status.message!r} != call status "
                  f"{err.code()} {err.details()!r}")
            return status
    raise CheckFailed(f"{err.code()} {err.details()!r} carries no grpc-status-details-bin")


def field_violations(err):
    """The field names of every BadRequest field violation in a failed call's details."""
    fields = []
    for detail in status_details(err).details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            for v in bad.field_violations:
                check(v.description, f"violation on {v.field} has no description")
                print(f"   violation {v.field}: {v.description}")
                fields.append(v.field)
    return fields


def expect_error(name, call, request, code, fields):
    """Calls `call`, which must fail with `code` and violations on exactly `fields`."""
    print(f"   {name}")
    try:
        call(request, timeout=TIMEOUT_S)
    except grpc.RpcError as err:
        print(f"   {err.code().name}: {err.details()}")
        check(err.code() == code, f"expected {code.name}, got {err.code().name}: {err.details()}")
        got = field_violations(err)
        check(sorted(got) == sorted(fields), f"violations {got}, expected {fields}")
        return
    raise CheckFailed(f"{name} succeeded, expected {code.name}")


def create_units(units):
    step("UnitService: a tree 广东省 → 佛山市 → 南海区 → 党支部, and a contact")
    tree = [
        ("py.gd", "广东省", upb.UNIT_KIND_PROVINCE, "", []),
        ("py.gd.fs", "佛山市", upb.UNIT_KIND_CITY, "py.gd", ["五区"]),
        ("py.gd.fs.nh", "南海区", upb.UNIT_KIND_DISTRICT, "py.gd.fs", []),
        ("py.gd.fs.nh.b1", "桂城街道第一党支部", upb.UNIT_KIND_PARTY_BRANCH, "py.gd.fs.nh", []),
    ]
    for uid, name, kind, parent, tags in tree:
        req = upb.CreateUnitRequest(
            unit=upb.Unit(id=uid, name=name, kind=kind, parent_id=parent, tags=tags),
            request_id=f"create-{uid}")
        unit = units.CreateUnit(req, timeout=TIMEOUT_S)
        check(unit.id == uid and unit.name == name and unit.parent_id == parent,
              f"CreateUnit returned {unit}")
        check(unit.etag, f"{uid} has no etag")
        # A retried create with the same request_id returns the stored unit.
        again = units.CreateUnit(req, timeout=TIMEOUT_S)
        check(again.etag == unit.etag, f"retried CreateUnit {uid} changed the unit")
    check(units.GetUnit(upb.GetUnitRequest(id="py.gd.fs.nh.b1"), timeout=TIMEOUT_S).depth == 3,
          "the party branch is not at depth 3")
    counts = units.CountUnits(upb.CountUnitsRequest(root_id="py.gd"), timeout=TIMEOUT_S)
    check(counts.total == 4, f"CountUnits total {counts.total}, expected 4")

    contact = units.AddContact(upb.AddContactRequest(contact=upb.Contact(
        unit_id="py.gd.fs.nh", person_name="王芳", role=upb.CONTACT_ROLE_LIAISON,
        email="wang.fang@example.gov.cn", webhook_url="http://127.0.0.1:9/hook/nh")),
        timeout=TIMEOUT_S)
    check(contact.id and contact.unit_id == "py.gd.fs.nh", f"AddContact returned {contact}")
    listed = units.ListContacts(upb.ListContactsRequest(unit_id="py.gd.fs.nh"), timeout=TIMEOUT_S)
    check([c.id for c in listed.contacts] == [contact.id],
          f"ListContacts: {[c.id for c in listed.contacts]}, expected [{contact.id}]")


def create_plan_and_task(tasks, reminders):
    step("ReminderService.CreatePolicy; TaskService.CreatePlan and CreateTask")
    # Always-open window on every day, so the planned times do not depend on when this runs.
    policy = reminders.CreatePolicy(rpb.CreatePolicyRequest(policy=rpb.ReminderPolicy(
        id="py-std", name="Python 端到端（提前1天、截止）",
        before_deadline=[rpb.Offset(hours=24)], at_deadline=True, at_milestones=True,
        send_window=rpb.SendWindow(start=rpb.TimeOfDay(hours=0),
                                   end=rpb.TimeOfDay(hours=23, minutes=59)),
        send_on_non_working_days=True)), timeout=TIMEOUT_S)
    check(policy.id == "py-std", f"CreatePolicy returned {policy}")

    today = datetime.datetime.now(datetime.timezone.utc).date()
    plan = tasks.CreatePlan(tpb.CreatePlanRequest(plan=tpb.Plan(
        id="py-fs-2026", title="佛山市重点任务督办方案", owner_unit_id="py.gd.fs",
        start_date=date(today - datetime.timedelta(days=1)),
        end_date=date(today + datetime.timedelta(days=60)),
        default_reminder_policy_id="py-std"), actor=ACTOR), timeout=TIMEOUT_S)
    check(plan.id == "py-fs-2026" and plan.etag, f"CreatePlan returned {plan}")
    # The tasks service tells the reminders service through its outbox, asynchronously; until
    # then the plan has no default there (NOT_FOUND).
    def default_policy():
        try:
            return reminders.GetPlanDefaultPolicy(rpb.GetPlanDefaultPolicyRequest(
                plan_id=plan.id), timeout=TIMEOUT_S).policy_id == "py-std"
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return False

    wait_until(default_policy, "the plan's default policy to reach duban-reminders")

    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    # Distinct instants for the milestone's DUE (day 1), the BEFORE_DUE (day 2) and the
    # deadline's DUE (day 3): reminders falling at the same instant would be merged.
    milestone = now + datetime.timedelta(days=1)
    deadline = now + datetime.timedelta(days=3)
    task = tasks.CreateTask(tpb.CreateTaskRequest(task=tpb.Task(
        id="py-t1", plan_id=plan.id, title="农村人居环境整治", lead_unit_id="py.gd.fs.nh",
        cooperating_unit_ids=["py.gd.fs.nh.b1"],
        deadline=tpb.Deadline(absolute_time=ts(deadline)),
        milestones=[tpb.Milestone(title="摸底完成",
                                  due=tpb.Deadline(absolute_time=ts(milestone)))]),
        actor=ACTOR, request_id="create-py-t1"), timeout=TIMEOUT_S)
    check(task.deadline_time.seconds == int(deadline.timestamp()),
          f"deadline_time {task.deadline_time.seconds} != {int(deadline.timestamp())}")
    check([(a.unit_id, a.role) for a in task.assignments] ==
          [("py.gd.fs.nh", tpb.ASSIGNMENT_ROLE_LEAD),
           ("py.gd.fs.nh.b1", tpb.ASSIGNMENT_ROLE_COOPERATE)],
          f"task assignments: {task.assignments}")
    return plan, task


def work_on_assignment(tasks, task):
    step("TaskService: ListAssignments, AcknowledgeAssignment, ReportProgress")
    listed = tasks.ListAssignments(tpb.ListAssignmentsRequest(task_id=task.id), timeout=TIMEOUT_S)
    by_unit = {a.unit_id: a for a in listed.assignments}
    check(sorted(by_unit) == ["py.gd.fs.nh", "py.gd.fs.nh.b1"], f"assignments of {sorted(by_unit)}")
    lead = by_unit["py.gd.fs.nh"]
    check(lead.state == tpb.ASSIGNMENT_STATE_ASSIGNED, f"lead state {lead.state}")
    check(lead.light.reason, "the lead assignment's light has no reason")

    acked = tasks.AcknowledgeAssignment(tpb.TransitionRequest(
        assignment_id=lead.id, actor=ACTOR, note="已签收", etag=lead.etag), timeout=TIMEOUT_S)
    check(acked.state == tpb.ASSIGNMENT_STATE_ACKNOWLEDGED, f"after acknowledge: {acked.state}")
    reported = tasks.ReportProgress(tpb.ReportProgressRequest(
        assignment_id=lead.id, percent=40, text="已完成摸底四成", actor=ACTOR, etag=acked.etag),
        timeout=TIMEOUT_S)
    check(reported.assignment.state == tpb.ASSIGNMENT_STATE_IN_PROGRESS,
          f"after report: {reported.assignment.state}")
    check(reported.report.percent == 40 and reported.assignment.last_report.percent == 40,
          f"report: {reported.report}")
    return reported.assignment


def read_board(tasks, plan):
    step("TaskService.GetBoard: one group per unit")
    board = tasks.GetBoard(tpb.GetBoardRequest(plan_id=plan.id, group_by=tpb.BOARD_GROUPING_UNIT,
                                               order_by=tpb.BOARD_ORDER_KEY), timeout=TIMEOUT_S)
    for g in board.groups:
        print(f"   {g.key} {g.label}: total {g.total}, lights G{g.lights.green} "
              f"Y{g.lights.yellow} R{g.lights.red}, completion {g.completion_rate:.0%}")
    check([(g.key, g.label) for g in board.groups] ==
          [("py.gd.fs.nh", "南海区"), ("py.gd.fs.nh.b1", "桂城街道第一党支部")],
          f"board groups {[(g.key, g.label) for g in board.groups]}")
    check(board.totals.total == 2 and board.totals.state_counts.in_progress == 1 and
          board.totals.state_counts.assigned == 1, f"board totals {board.totals}")


def read_reminders(reminders, lead):
    step("ReminderService: ListReminders of the lead assignment, GetQueueStats")

    # The ledger follows the tasks outbox asynchronously: wait until it has planned the lead's
    # latest version (after the progress report), with one reminder per rule of the policy.
    expected = [rpb.REMINDER_KIND_DUE, rpb.REMINDER_KIND_BEFORE_DUE, rpb.REMINDER_KIND_DUE]

    def planned():
        got = reminders.ListReminders(rpb.ListRemindersRequest(assignment_id=lead.id),
                                      timeout=TIMEOUT_S).reminders
        scheduled = [r for r in got if r.state == rpb.REMINDER_STATE_SCHEDULED]
        latest = any(r.assignment_version >= lead.version for r in scheduled)
        return got if latest and [r.kind for r in scheduled] == expected else None

    try:
        rows = wait_until(planned, "the lead assignment's reminders in the ledger")
    finally:
        for r in reminders.ListReminders(rpb.ListRemindersRequest(assignment_id=lead.id),
                                         timeout=TIMEOUT_S).reminders:
            print(f"   {rpb.ReminderKind.Name(r.kind)} {rpb.ReminderState.Name(r.state)} "
                  f"planned {r.planned_time.ToJsonString()} policy {r.policy_id} "
                  f"version {r.assignment_version} {r.detail}")
    for r in rows:
        check(r.assignment_id == lead.id and r.unit_id == "py.gd.fs.nh",
              f"reminder {r.id} is about {r.assignment_id} / {r.unit_id}")
        check(r.policy_id == "py-std", f"reminder {r.id} planned by policy {r.policy_id!r}")
    due = [r.planned_time.ToSeconds() for r in rows if r.state == rpb.REMINDER_STATE_SCHEDULED]
    check(due == sorted(due), f"ledger rows not in planned order: {due}")

    stats = reminders.GetQueueStats(rpb.GetQueueStatsRequest(), timeout=TIMEOUT_S)
    print(f"   queue: scheduled {stats.scheduled}, ready {stats.ready}, in flight "
          f"{stats.in_flight}, ledger scheduled {stats.ledger_scheduled}")
    check(stats.ledger_scheduled >= len(expected), f"ledger_scheduled {stats.ledger_scheduled}")
    check(stats.scheduled >= 1, "nothing in the Redis schedule")


def bad_requests(units, tasks, lead):
    step("Errors: status details carry google.rpc.BadRequest field violations")
    # Every bad field is named at once, not just the first.
    expect_error("CreateUnit with a bad id and no name", units.CreateUnit,
                 upb.CreateUnitRequest(unit=upb.Unit(id="Not An Id", name="",
                                                     kind=upb.UNIT_KIND_CITY,
                                                     parent_id="py.gd.nowhere")),
                 grpc.StatusCode.INVALID_ARGUMENT, ["unit.id", "unit.name"])
    # A well-formed unit under a parent that does not exist.
    expect_error("CreateUnit under a missing parent", units.CreateUnit,
                 upb.CreateUnitRequest(unit=upb.Unit(id="py.gd.x", name="无上级",
                                                     kind=upb.UNIT_KIND_CITY,
                                                     parent_id="py.gd.nowhere")),
                 grpc.StatusCode.NOT_FOUND, ["unit.parent_id"])
    expect_error("ReportProgress of 150%", tasks.ReportProgress,
                 tpb.ReportProgressRequest(assignment_id=lead.id, percent=150, actor=ACTOR),
                 grpc.StatusCode.INVALID_ARGUMENT, ["percent"])

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", required=True, help="duban-units HOST:PORT")
    parser.add_argument("--tasks", required=True, help="duban-tasks HOST:PORT")
    parser.add_argument("--reminders", required=True, help="duban-reminders HOST:PORT")
    args = parser.parse_args()

    with grpc.insecure_channel(args.units) as uch, grpc.insecure_channel(args.tasks) as tch, \
            grpc.insecure_channel(args.reminders) as rch:
        units = urpc.UnitServiceStub(uch)
        tasks = trpc.TaskServiceStub(tch)
        reminders = rrpc.ReminderServiceStub(rch)
        try:
            create_units(units)
            plan, task = create_plan_and_task(tasks, reminders)
            lead = work_on_assignment(tasks, task)
            read_board(tasks, plan)
            read_reminders(reminders, lead)
            bad_requests(units, tasks, lead)
        except CheckFailed as e:
            print(f"FAILED: {e}", file=sys.stderr)
            return 1
        except grpc.RpcError as e:
            print(f"FAILED: unexpected RPC error {e.code().name}: {e.details()}", file=sys.stderr)
            return 1
    print("OK: every call and check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
