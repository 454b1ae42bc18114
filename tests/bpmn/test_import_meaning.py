"""An import keeps what the model means (docs/bpmn.md): a gateway without
conditions after a review routes on the reviewer's decision, by the flows'
names; conditions govflow cannot read are refused (or kept as placeholders
that fail validation); embedded sub-processes become sub-processes; data and
comments are dropped with a note each; nothing becomes `when: "true"` on two
branches of one exclusive gateway."""

from __future__ import annotations

import re

import pytest
from ruamel.yaml import YAML

from govflow.bpmn.common import BpmnError
from govflow.bpmn.conditions import outcome_of_name
from govflow.engine import check_definition, load_definition
from govflow.engine.simulate import Script, simulate

from .conftest import CORPUS, DEPARTMENTS, HANDLERS

NS = 'xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def model(body: str) -> str:
    return f'<definitions {NS} id="d"><process id="Demo" name="示例">{body}</process></definitions>'


def flow(fid: str, source: str, target: str, *, name: str = "", condition: str = "") -> str:
    named = f' name="{name}"' if name else ""
    if condition:
        return (
            f'<sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}"{named}>'
            f"<conditionExpression>{condition}</conditionExpression></sequenceFlow>"
        )
    return f'<sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}"{named}/>'


def review_then_gateway(names: list[str], *, gateway_name: str = "审核通过？", default: str = "") -> str:
    """start -> review -> gateway -> one end (or task) per flow name."""
    default_attr = f' default="{default}"' if default else ""
    body = [
        '<startEvent id="start"/>',
        flow("f0", "start", "review"),
        '<userTask id="review" name="审查"/>',
        flow("f1", "review", "gw"),
        f'<exclusiveGateway id="gw" name="{gateway_name}"{default_attr}/>',
    ]
    for index, name in enumerate(names):
        body.append(flow(f"g{index}", "gw", f"end{index}", name=name))
        body.append(f'<endEvent id="end{index}" name="结束{index}"/>')
    return model("".join(body))


def nodes(result) -> dict:
    data = YAML(typ="safe", pure=True).load(result.yaml)
    found = {n["id"]: n for n in data["nodes"]}
    for sub in (data.get("subprocesses") or {}).values():
        found.update({n["id"]: n for n in sub["nodes"]})
    return found


def refusal(importer, source, **options) -> list[str]:
    with pytest.raises(BpmnError) as refused:
        importer(source, **options)
    return refused.value.lines("m.bpmn")


# -- a gateway without conditions after a review ------------------------------------------


def test_flow_names_after_a_review_become_its_outcomes(importer):
    result = importer(review_then_gateway(["通过", "不通过", "退回补正"]))
    found = nodes(result)
    # Then the gateway disappears into the review's decisions, in the file's order
    assert "gw" not in found
    assert found["review"]["outcomes"] == {"approve": "end0", "reject": "end1", "return": "end2"}
    # And the modeller's words stay beside them, and a note says so
    assert "# BPMN flows: approve = 通过, reject = 不通过, return = 退回补正" in result.yaml
    assert any("became the decisions of task 'review'" in n.message for n in result.notes)
    # And each decision takes its own path
    definition = load_definition(result.yaml)
    for outcome, end in (("approve", "end0"), ("reject", "end1"), ("return", "end2")):
        run = simulate(definition, Script(decisions={"review": outcome}))
        assert run.trace[-1] == end


@pytest.mark.parametrize(
    ("names", "question", "expected"),
    [
        (["yes", "no"], "Invoice approved?", {"approve": "end0", "reject": "end1"}),
        (["No", "Yes"], "Approved?", {"reject": "end0", "approve": "end1"}),
        (["同意", "驳回"], "", {"approve": "end0", "reject": "end1"}),
        (["approve", "return"], "", {"approve": "end0", "return": "end1"}),
        (["是", "否"], "是否通过", {"approve": "end0", "reject": "end1"}),
        (["通过（发证）", "不予许可"], "", {"approve": "end0", "reject": "end1"}),
    ],
)
def test_decision_names_in_chinese_and_english(importer, names, question, expected):
    found = nodes(importer(review_then_gateway(names, gateway_name=question)))
    assert found["review"]["outcomes"] == expected


def test_an_unnamed_default_flow_is_the_approval(importer):
    source = review_then_gateway(["", "不通过"], default="g0")
    assert nodes(importer(source))["review"]["outcomes"] == {"approve": "end0", "reject": "end1"}


@pytest.mark.parametrize(
    ("names", "question", "says"),
    [
        (["Pizza", "Pasta"], "Menu?", "flow 'g0' is named 'Pizza', which is no decision govflow knows"),
        (["是", "yes"], "", "flows 'g0' ('是') and 'g1' ('yes') both mean approve"),
        (["", ""], "", "flow 'g0' has no name"),
        (["不通过", "退回"], "", "no flow means approve"),
        (["是", "否"], "是否驳回", "which answers the question '是否驳回'"),
        (["yes", "no"], "Documents missing?", "which answers the question 'Documents missing?'"),
    ],
)
def test_names_that_do_not_say_a_decision_are_refused_naming_gateway_and_flows(
    importer, names, question, says
):
    lines = refusal(importer, review_then_gateway(names, gateway_name=question))
    assert len(lines) == 1
    assert lines[0].startswith("m.bpmn:1: element 'gw': the flows of exclusive gateway 'gw'")
    assert says in lines[0]
    assert "Name each flow after a decision" in lines[0]


def test_a_gateway_without_conditions_elsewhere_is_refused_naming_it(importer):
    source = model(
        '<startEvent id="start"/>'
        + flow("f0", "start", "gw")
        + '<exclusiveGateway id="gw" name="哪个部门"/>'
        + flow("g0", "gw", "a", name="通过")
        + flow("g1", "gw", "b", name="不通过")
        + '<userTask id="a" name="A"/><userTask id="b" name="B"/>'
        + flow("f1", "a", "end")
        + flow("f2", "b", "end")
        + '<endEvent id="end" name="结束"/>'
    )
    lines = refusal(importer, source)
    assert len(lines) == 1
    assert "element 'gw': none of the 2 flows ('g0' ('通过'), 'g1' ('不通过'))" in lines[0]
    assert "exclusive gateway 'gw' ('哪个部门')" in lines[0]
    assert "does not stand right after a department's review task" in lines[0]


def test_a_gateway_without_conditions_after_a_correction_is_refused(importer):
    source = (
        f'<definitions {NS} id="d"><process id="Demo">'
        '<laneSet><lane id="L1" name="申请人"><flowNodeRef>fix</flowNodeRef></lane></laneSet>'
        '<startEvent id="start"/>'
        + flow("f0", "start", "fix")
        + '<userTask id="fix" name="补正"/>'
        + flow("f1", "fix", "gw")
        + '<exclusiveGateway id="gw"/>'
        + flow("g0", "gw", "e0", name="通过")
        + flow("g1", "gw", "e1", name="不通过")
        + '<endEvent id="e0" name="E0"/><endEvent id="e1" name="E1"/></process></definitions>'
    )
    lines = refusal(importer, source)
    assert "it follows an applicant's correction" in lines[0]


def test_one_bare_flow_among_conditions_is_the_default_and_two_are_refused(importer):
    def gateway(bare: int) -> str:
        body = '<startEvent id="start"/>' + flow("f0", "start", "gw") + '<exclusiveGateway id="gw"/>'
        body += flow("c", "gw", "e0", condition="${amount &gt; 5}")
        for index in range(bare):
            body += flow(f"b{index}", "gw", f"e{index + 1}")
        body += "".join(f'<endEvent id="e{i}" name="E{i}"/>' for i in range(bare + 1))
        return model(body)

    found = nodes(importer(gateway(1)))
    assert found["gw"]["branches"] == [{"to": "e0", "when": "amount > 5"}, {"to": "e1", "default": True}]
    lines = refusal(importer, gateway(2))
    assert "flows 'b0', 'b1' of exclusive gateway 'gw' carry no condition besides one another" in lines[0]


def test_two_always_true_conditions_on_one_exclusive_gateway_are_refused(importer):
    body = '<startEvent id="start"/>' + flow("f0", "start", "gw") + '<exclusiveGateway id="gw"/>'
    body += flow("a", "gw", "e0", condition="${true}") + flow("b", "gw", "e1", condition="${true}")
    body += '<endEvent id="e0" name="E0"/><endEvent id="e1" name="E1"/>'
    lines = refusal(importer, model(body))
    assert "the conditions of 2 flows are always true" in lines[0]


def test_a_correction_loop_decided_by_names_ends_under_approve_all(importer):
    # 退回 leads back through the applicant's correction to the review: a loop that
    # `when: "true"` on every flow would never leave.
    source = (
        f'<definitions {NS} id="d"><process id="Loop">'
        '<laneSet><lane id="L1" name="申请人"><flowNodeRef>fix</flowNodeRef></lane>'
        '<lane id="L2" name="市场监督管理局"><flowNodeRef>review</flowNodeRef></lane></laneSet>'
        '<startEvent id="start"/>'
        + flow("f0", "start", "merge")
        + '<exclusiveGateway id="merge"/>'
        + flow("f1", "merge", "review")
        + '<userTask id="review" name="审查"/>'
        + flow("f2", "review", "gw")
        + '<exclusiveGateway id="gw" name="审查结果"/>'
        + flow("g0", "gw", "fix", name="退回")
        + flow("g1", "gw", "ok", name="通过")
        + '<userTask id="fix" name="补正材料"/>'
        + flow("f3", "fix", "merge")
        + '<endEvent id="ok" name="办结"/></process></definitions>'
    )
    result = importer(source, department=None)
    definition = load_definition(result.yaml)
    assert simulate(definition, Script()).outcome == "approved"
    returned = simulate(definition, Script(decisions={"review": ["return", "approve"]}))
    assert returned.trace.count("review") == 2
    assert "fix" in returned.trace


def test_outcome_names_are_read_without_case_spaces_or_end_punctuation():
    assert outcome_of_name("  APPROVED. ") == "approve"
    assert outcome_of_name("不通过！") == "reject"
    assert outcome_of_name("Send  back") == "return"
    assert outcome_of_name("maybe") is None


# -- conditions -------------------------------------------------------------------------------


def conditioned(condition: str) -> str:
    return model(
        '<startEvent id="start"/>'
        + flow("f0", "start", "gw")
        + '<exclusiveGateway id="gw" default="d"/>\n'
        + flow("c", "gw", "e0", condition=condition)
        + "\n"
        + flow("d", "gw", "e1")
        + '<endEvent id="e0" name="E0"/><endEvent id="e1" name="E1"/>'
    )


@pytest.mark.parametrize(
    ("condition", "why"),
    [
        ('${execution.getVariable("amount") &gt; 5}', "it calls 'execution.getVariable(...)'"),
        ("${undefined == true}", "'undefined' is a modeller's placeholder"),
        ("${empty reviewers}", "govflow has no operator 'empty'"),
        ("${order.total &gt; 5}", "it reads 'order.total'"),
    ],
)
def test_a_condition_govflow_cannot_translate_is_refused_with_its_text(importer, condition, why):
    lines = refusal(importer, conditioned(condition))
    original = condition.replace("&gt;", ">")
    assert len(lines) == 1
    assert lines[0].startswith("m.bpmn:2: element 'c': the condition ")
    assert repr(original) in lines[0]
    assert why in lines[0]
    assert "--keep-conditions" in lines[0]


def test_kept_conditions_are_placeholders_validation_names_with_their_line(importer):
    result = importer(conditioned("${undefined == true}"), keep_conditions=True)
    assert result.placeholders == 1
    assert "TRANSLATE branch to e0 (flow c" in result.yaml
    # A placeholder is not a variable: no form field was made of it
    assert "form:" not in result.yaml
    # Then validation fails on exactly that condition, at its line
    definition, problems = check_definition(result.yaml, departments=set(DEPARTMENTS), handlers=HANDLERS)
    assert definition is None
    assert [p.message for p in problems] == ["condition names unknown field '__edit_me__'"]
    line = result.yaml.splitlines()[problems[0].line - 1]
    assert '__edit_me__ == "${undefined == true}"' in line
    # And once an admin writes a real condition, it validates
    fixed = result.yaml.replace('__edit_me__ == "${undefined == true}"', "false")
    assert check_definition(fixed, departments=set(DEPARTMENTS), handlers=HANDLERS)[1] == []


def test_kept_conditions_still_refuse_what_else_is_wrong(importer):
    source = conditioned("${undefined}").replace('<endEvent id="e1" name="E1"/>', '<scriptTask id="e1"/>')
    lines = refusal(importer, source, keep_conditions=True)
    assert any("script tasks run code" in line for line in lines)


# -- embedded sub-processes ---------------------------------------------------------------------------


SUBPROCESS = (
    f'<definitions {NS} id="d"><process id="Main" name="主流程">'
    '<laneSet><lane id="L" name="税务局"><flowNodeRef>stage</flowNodeRef></lane></laneSet>'
    '<startEvent id="start"/>' + flow("f0", "start", "stage") + '<subProcess id="stage" name="第一阶段">'
    '<startEvent id="s_start"/>'
    + flow("s0", "s_start", "s_review")
    + '<userTask id="s_review" name="审查"/>'
    + flow("s1", "s_review", "inner")
    + '<subProcess id="inner" name="内层"><startEvent id="i_start"/>'
    + flow("i0", "i_start", "i_check")
    + '<userTask id="i_check" name="核查"/>'
    + flow("i1", "i_check", "i_end")
    + '<endEvent id="i_end" name="核查完"/></subProcess>'
    + flow("s2", "inner", "s_end")
    + '<endEvent id="s_end" name="阶段完"/></subProcess>'
    + flow("f1", "stage", "end")
    + '<endEvent id="end" name="办结"/></process></definitions>'
)


def test_an_embedded_sub_process_becomes_a_sub_process_and_a_call(importer):
    result = importer(SUBPROCESS, department=None)
    data = YAML(typ="safe", pure=True).load(result.yaml)
    found = nodes(result)
    assert found["stage"] == {
        "id": "stage",
        "type": "call",
        "title": {"zh": "第一阶段", "en": "第一阶段"},
        "process": "stage",
        "outcomes": {"approved": "end"},
    }
    assert set(data["subprocesses"]) == {"stage", "inner"}
    assert found["inner"]["process"] == "inner"
    # The inner tasks stand in the lane of the sub-process that holds them
    assert found["s_review"]["department"] == "tax"
    assert found["i_check"]["department"] == "tax"
    run = simulate(load_definition(result.yaml), Script())
    assert {"s_review", "i_check"} <= set(run.trace)
    assert run.outcome == "approved"


def test_an_event_sub_process_is_refused(importer):
    source = SUBPROCESS.replace(
        '<subProcess id="inner" name="内层">', '<subProcess id="inner" triggeredByEvent="true">'
    )
    lines = refusal(importer, source)
    assert any("element 'inner': event sub-processes are not supported" in line for line in lines)


# -- dropped and refused elements ----------------------------------------------------------------------


def test_data_and_comments_are_dropped_with_one_note_each(importer):
    body = (
        '<startEvent id="start"/>'
        + flow("f0", "start", "t")
        + '<userTask id="t" name="审查"><ioSpecification id="io"/>'
        '<dataInputAssociation id="dia"><sourceRef>do_ref</sourceRef></dataInputAssociation></userTask>'
        + flow("f1", "t", "end")
        + '<endEvent id="end" name="E"/>'
        '<dataObject id="do" name="申请表"/><dataObjectReference id="do_ref" dataObjectRef="do"/>'
        '<dataStoreReference id="ds_ref" name="档案库"/>'
        '<textAnnotation id="note1"><text>须在三日内完成</text></textAnnotation>'
        '<association id="a1" sourceRef="t" targetRef="note1"/>'
        '<group id="g1" categoryValueRef="cv"/>'
    )
    result = importer(model(body))
    dropped = {n.element: n.message for n in result.notes if n.message.startswith("dropped ")}
    assert set(dropped) == {"io", "dia", "do", "do_ref", "ds_ref", "note1", "a1", "g1"}
    assert "须在三日内完成" in dropped["note1"]
    assert "申请表" in dropped["do"]
    assert nodes(result)["t"]["outcomes"] == {"approve": "end"}


@pytest.mark.parametrize("kind", ["message", "signal"])
def test_message_and_signal_catch_events_wait_for_a_signal(importer, kind):
    """A catch event waits for the message another system sends over the
    API; its name is the message's (or signal's) name as an identifier."""
    ref = "messageRef" if kind == "message" else "signalRef"
    body = (
        '<startEvent id="start"/>'
        + flow("f0", "start", "wait")
        + f'<intermediateCatchEvent id="wait" name="等待缴费"><{kind}EventDefinition {ref}="Pay"/>'
        "</intermediateCatchEvent>" + flow("f1", "wait", "end") + '<endEvent id="end" name="E"/>'
    )
    source = model(body).replace("</definitions>", f'<{kind} id="Pay" name="Fee paid"/></definitions>')
    result = importer(source)
    wait = nodes(result)["wait"]
    assert wait["type"] == "signal"
    assert wait["signal"] == "fee_paid"
    assert wait["next"] == "end"
    assert any("received as the signal 'fee_paid'" in n.message for n in result.notes)


def test_a_message_with_a_chinese_name_takes_its_id(importer):
    body = (
        '<startEvent id="start"/>'
        + flow("f0", "start", "wait")
        + '<intermediateCatchEvent id="wait" name="等"><messageEventDefinition messageRef="FeePaid"/>'
        "</intermediateCatchEvent>" + flow("f1", "wait", "end") + '<endEvent id="end" name="E"/>'
    )
    source = model(body).replace("</definitions>", '<message id="FeePaid" name="缴费成功"/></definitions>')
    assert nodes(importer(source))["wait"]["signal"] == "fee_paid"


def event_gateway(*targets: str) -> str:
    """start -> event-based gateway 'choose' -> each target (a message or
    timer catch event, or a task) -> an end ('end' after a message or task,
    'lapsed' after a timer)."""
    parts = []
    for i, kind in enumerate(targets):
        tid = f"{kind}{i}"
        if kind == "message":
            element = f'<intermediateCatchEvent id="{tid}"><messageEventDefinition/></intermediateCatchEvent>'
        elif kind == "timer":
            element = (
                f'<intermediateCatchEvent id="{tid}"><timerEventDefinition><timeDuration>P10D</timeDuration>'
                "</timerEventDefinition></intermediateCatchEvent>"
            )
        else:
            element = f'<userTask id="{tid}" name="办理"/>'
        after = "lapsed" if kind == "timer" else "end"
        parts.append(flow(f"g{i}", "choose", tid) + element + flow(f"o{i}", tid, after))
    return (
        '<startEvent id="start"/>'
        + flow("f0", "start", "choose")
        + '<eventBasedGateway id="choose" name="等待缴费"/>'
        + "".join(parts)
        + '<endEvent id="end" name="办结"/><endEvent id="lapsed" name="逾期"/>'
    )


def test_an_event_based_gateway_between_a_message_and_a_timer_is_a_signal_with_a_deadline(importer):
    result = importer(model(event_gateway("message", "timer")))
    found = nodes(result)
    wait = found["choose"]
    assert wait["type"] == "signal"
    assert wait["deadline"] == {"days": 10}
    assert wait["next"] == "end"
    assert wait["on_timeout"] == "lapsed"
    assert "message0" not in found
    assert "timer1" not in found


@pytest.mark.parametrize(
    "targets", [("message",), ("message", "message"), ("message", "timer", "timer"), ("task", "timer")]
)
def test_other_event_based_gateways_are_refused_with_the_pattern_they_need(importer, targets):
    lines = refusal(importer, model(event_gateway(*targets)))
    assert any(
        "an event-based gateway is read only as a wait for one message with a deadline" in x for x in lines
    )


# -- the corpus ----------------------------------------------------------------------------------------

MODELS = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*.bpmn"))
PLACEHOLDER = re.compile(r'__edit_me__ == "(?:[^"\\]|\\.)*"')


@pytest.mark.parametrize("model_path", MODELS)
@pytest.mark.parametrize(
    "options",
    [{"department": None}, {"department": "tax"}, {"department": "tax", "keep_conditions": True}],
    ids=["as-drawn", "department", "keep-conditions"],
)
def test_every_corpus_model_is_refused_clearly_or_imports_valid_and_meaningful(importer, model_path, options):
    source = (CORPUS / model_path).read_bytes()
    refused: BpmnError | None = None
    try:
        result = importer(source, **options)
    except BpmnError as exc:
        refused = exc
    if refused is not None:
        # Refused: every reason is one line with a message, none is a traceback
        assert refused.lines(model_path)
        assert all(p.message.strip() and "\n" not in p.message for p in refused.problems)
        return
    checks = {"departments": set(DEPARTMENTS), "handlers": HANDLERS}
    text = result.yaml
    if result.placeholders:
        # Placeholders fail validation by design, and nothing else does
        _, problems = check_definition(text, **checks)
        assert {p.message for p in problems} == {"condition names unknown field '__edit_me__'"}
        text = PLACEHOLDER.sub("false", text)
    definition, problems = check_definition(text, **checks)
    assert problems == []
    for node in definition.nodes.values():
        if node.type == "exclusive" and node.branches:
            always = [b for b in node.branches if b.condition is not None and b.condition.source == "true"]
            assert len(always) <= 1, node.id


# -- several pools, message starts ------------------------------------------------------------


def two_pools(executable: tuple[str, ...] = ()) -> str:
    def pool(pid: str) -> str:
        flag = ' isExecutable="true"' if pid in executable else ""
        return (
            f'<process id="{pid}"{flag}><startEvent id="{pid}_s"/><userTask id="{pid}_t" name="审查"/>'
            f'<endEvent id="{pid}_e" name="办结"/>'
            + flow(f"{pid}_f1", f"{pid}_s", f"{pid}_t")
            + flow(f"{pid}_f2", f"{pid}_t", f"{pid}_e")
            + "</process>"
        )

    return f'<definitions {NS} id="d">{pool("agency")}{pool("applicant")}</definitions>'


def test_several_pools_need_a_choice_unless_one_is_executable(importer):
    lines = refusal(importer, two_pools())
    assert any("2 independent processes" in x and "--process ID" in x for x in lines)
    chosen = importer(two_pools(), process="applicant")
    assert "applicant_t" in nodes(chosen)
    assert "agency_t" not in nodes(chosen)
    lone = importer(two_pools(executable=("agency",)))
    assert "agency_t" in nodes(lone)
    assert any("the executable one 'agency' was imported" in n.message for n in lone.notes)
    unknown = refusal(importer, two_pools(), process="nowhere")
    assert any("--process 'nowhere'" in x for x in unknown)


def test_a_message_start_event_is_the_submission(importer):
    body = (
        '<startEvent id="start"><messageEventDefinition/></startEvent>'
        + flow("f0", "start", "t")
        + '<userTask id="t" name="审查"/>'
        + flow("f1", "t", "end")
        + '<endEvent id="end" name="办结"/>'
    )
    result = importer(model(body))
    assert nodes(result)["start"]["type"] == "start"
    assert any("message (or signal) start event became the start" in n.message for n in result.notes)


# -- a yes/no decision variable after a review ---------------------------------------------------


@pytest.mark.parametrize(
    ("yes", "no"),
    [
        ("${approved}", "${!approved}"),
        ("#{approved == true}", "#{approved == false}"),
        ("${agreed}", "${not agreed}"),
    ],
)
def test_a_decision_variable_after_a_review_is_the_reviewers_decision_not_a_form_field(importer, yes, no):
    body = (
        '<startEvent id="s"/>'
        + flow("f0", "s", "t")
        + '<userTask id="t" name="审查"/>'
        + flow("f1", "t", "g")
        + '<exclusiveGateway id="g"/>'
        + flow("f2", "g", "ok", condition=yes)
        + flow("f3", "g", "no", condition=no)
        + '<endEvent id="ok" name="通过"/><endEvent id="no" name="驳回"/>'
    )
    result = importer(model(body))
    data = YAML(typ="safe", pure=True).load(result.yaml)
    assert not (data.get("form") or {}).get("fields")
    assert nodes(result)["t"]["outcomes"] == {"approve": "ok", "reject": "no"}
    assert any("the reviewer's yes/no decision" in n.message for n in result.notes)


def test_another_yes_no_variable_stays_a_form_field(importer):
    body = (
        '<startEvent id="s"/>'
        + flow("f0", "s", "t")
        + '<userTask id="t" name="审查"/>'
        + flow("f1", "t", "g")
        + '<exclusiveGateway id="g"/>'
        + flow("f2", "g", "a", condition="${urgent}")
        + flow("f3", "g", "b", condition="${!urgent}")
        + '<userTask id="a" name="加急"/><userTask id="b" name="普通"/>'
        + flow("f4", "a", "e")
        + flow("f5", "b", "e")
        + '<endEvent id="e" name="办结"/>'
    )
    data = YAML(typ="safe", pure=True).load(importer(model(body)).yaml)
    assert [f["id"] for f in data["form"]["fields"]] == ["urgent"]
