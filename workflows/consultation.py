"""ConsultationWorkflow: the life of one topic (议题), id ``consultation-<topic id>``.

The topic is registered (stage ``submitted``), its search attributes are set for
operators, and evaluation records that the topic was received. Then the workflow waits
for the chair's decision (主席会议), delivered by intake as the ``decide`` update: its
validator refuses an invalid decision before anything is written to the history, so a
refused decision changes nothing. Accepted: the stage is ``accepted`` and the plan's
format, organiser and year become search attributes; the research stages (later
issues) continue from there. Rejected or merged: the workflow ends.

The workflow carries ids only; titles and texts stay in intake's database.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from services.common.public_values import public_value_problem
    from services.common.search_attributes import (
        CONSULTATION_FORMAT,
        CONSULTATION_STAGE,
        ORGANISER,
        PLAN_YEAR,
        TOPIC_CHANNEL,
    )

    from .activities import (
        ConsultationActivities,
        DrawRequest,
        DrawResult,
        HandOverRequest,
        LifecycleActivities,
        NoticeRequest,
        PublicValueAnnouncement,
        RecordEventInput,
        ReplacementRequest,
        RevealRequest,
        TopicStage,
    )
    from .attention import Attention, AttentionMixin
    from .consultation_types import (  # services import them from here too
        AMENDABLE,
        FORMATS,
        ConsultationInput,
        ConsultationStatus,
        DecisionInput,
        Outcome,
        PlanAmendment,
        Stage,
        decision_problem,
    )
    from .followup_types import FollowUpClosed
    from .ids import consultation_workflow_id  # noqa: F401 - where services import it from
    from .lifecycle_types import (
        COMPOSITION_BY_FORMAT,
        ConsultationTiming,
        DrawAnnouncement,
        Invitation,
        InvitationAnswer,
        MeetingHeld,
        PublicValue,
        ResearchCompleted,
        ResumeConsultation,
    )

#: each draw is announced (portfolio hash, commitment, the public value to come and
#: when), the workflow waits until that time and for staff to enter the value, then
#: the draw is revealed; histories from before draw at once
ANNOUNCED_DRAWS = "announced-draws-v1"


# See run(): a lighter first workflow task for every new topic.
LEAN_START = "lean-start-v1"
_ACTIVITY = dict(start_to_close_timeout=timedelta(seconds=60), retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)))
_EVENT = {"start_to_close_timeout": timedelta(seconds=30), "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30))}


@workflow.defn
class ConsultationWorkflow(AttentionMixin):
    @workflow.init
    def __init__(self, params: ConsultationInput) -> None:
        # Set here, not in run: an update can be handled before run's first step (a
        # decision sent right after the start), and its validator needs the topic id.
        self._stage = Stage.SUBMITTED
        self._topic_id = params.topic_id
        self._decision: DecisionInput | None = None
        self._timing = params.timing or ConsultationTiming()
        self._research: ResearchCompleted | None = None
        self._draw_id: int | None = None
        self._round = 0
        self._announcement: DrawAnnouncement | None = None
        self._public_value: str | None = None
        self._panel: list[int] = []
        self._invitations: dict[int, Invitation] = {}
        self._meeting_id: int | None = None
        self._commitment_ids: list[int] = []
        self._closed: dict[int, str | None] = {}
        self._attention_init()

    @workflow.run
    async def run(self, params: ConsultationInput) -> ConsultationStatus:
        # Runs started after this patch do less in their first task (each new topic's
        # cost beside the request that registers it, docs/benchmarks.md): no upsert of
        # the attributes the start already set, and the received event recorded by a
        # local activity (one workflow task per new topic instead of two plus an
        # activity task).
        lean_start = workflow.patched(LEAN_START)
        # Not _enter(SUBMITTED): a decision handled before this step must not be undone.
        if lean_start:
            self._enter_unless_set(self._stage)
            if workflow.info().typed_search_attributes.get(TOPIC_CHANNEL) != params.channel:
                workflow.upsert_search_attributes([TOPIC_CHANNEL.value_set(params.channel)])
        else:
            self._enter(self._stage)
            workflow.upsert_search_attributes([TOPIC_CHANNEL.value_set(params.channel)])
        await self._event("topic_received", key="received", summary="evaluation: record topic received",
                          legacy=_EVENT, local=lean_start)
        # The chair's decision arrives as the `decide` update; until then the topic
        # waits here, durably, without holding a worker slot.
        await workflow.wait_condition(lambda: self._stage != Stage.SUBMITTED)
        # Added after histories with decisions were saved (tests/histories): runs that
        # were decided without this step replay without it.
        if workflow.patched("record-decision-event") and self._decision is not None:
            await self._record_decision(self._decision)
        if self._stage == Stage.ACCEPTED:
            if workflow.patched("lifecycle-v1"):
                await self._lifecycle()
            else:
                # Histories from before the lifecycle: an accepted topic waited here.
                await workflow.wait_condition(lambda: self._stage != Stage.ACCEPTED)
        elif workflow.patched("notify-submitters-v1"):
            # Rejected or merged: the people who raised it hear so.
            await self._notice("topic." + self._stage, {"stage": self._stage,
                               "merged_into_topic_id": self._decision.merged_into_topic_id if self._decision else None})
        # End cleanly once every update has answered.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _record_decision(self, decision: DecisionInput) -> None:
        """Evaluation keeps the decision among the consultation's events: the two-way
        evaluation of how precise topic selection was (选题精准性) starts from it."""
        detail = {
            k: v
            for k, v in {
                "outcome": decision.outcome,
                "format": decision.format,
                "organiser": decision.organiser,
                "plan_year": decision.plan_year,
                "merged_into_topic_id": decision.merged_into_topic_id,
            }.items()
            if v is not None
        }
        await self._event("topic_decided", detail, key="decided", summary=f"evaluation: record topic {decision.outcome}",
                          legacy=_EVENT)

    # ------------------------------------------------------------------ lifecycle
    async def _lifecycle(self) -> None:
        timing = self._timing
        decision = self._decision
        assert decision is not None and decision.format is not None

        # 调研: a deadline, a reminder to the organiser before it, a notice when missed.
        await self._advance(Stage.RESEARCH)
        deadline = workflow.now() + timedelta(seconds=timing.seconds(timing.research_days))
        remind_at = deadline - timedelta(seconds=timing.seconds(timing.research_reminder_days))
        for when, kind in ((remind_at, "research.reminder"), (deadline, "research.overdue")):
            if not await self._wait_until(lambda: self._research is not None, when, f"{kind} for the organiser"):
                await self._notice(kind, {"organiser": decision.organiser, "deadline": deadline.isoformat()},
                                   recipients=[f"organiser:{decision.organiser}", "office:cppcc"])
        await workflow.wait_condition(lambda: self._research is not None)
        assert self._research is not None

        if COMPOSITION_BY_FORMAT.get(decision.format):
            await self._draw_and_invite()

        await self._advance(Stage.MEETING)
        await workflow.wait_condition(lambda: self._meeting_id is not None)
        assert self._meeting_id is not None

        await self._advance(Stage.FOLLOW_UP)
        meeting_id = self._meeting_id
        self._commitment_ids = await self._step(
            "hand_over_commitments",
            LifecycleActivities.hand_over_commitments,
            lambda: HandOverRequest(
                topic_id=self._topic_id,
                meeting_id=meeting_id,
                organiser=decision.organiser,
                plan_year=decision.plan_year,
                follow_up_policy=timing.follow_up_policy,
                seconds_scale=timing.follow_up_seconds_scale,
            ),
            summary=f"evaluation: commitments of meeting {meeting_id}",
            legacy=_ACTIVITY,
        )
        self._details()
        await workflow.wait_condition(lambda: all(c in self._closed for c in self._commitment_ids))

        await self._advance(Stage.EVALUATION)
        await workflow.sleep(
            timedelta(seconds=timing.seconds(timing.evaluation_window_days)),
            summary="two-way evaluation window (双向评价) closes",
        )
        await self._advance(Stage.CLOSED)
        await self._event("consultation_closed", self._summary())

    def _draw_request(self) -> DrawRequest:
        """The one place a draw request is built: from the plan's format and the research
        report as it stands (an amendment sent with ``resume`` applies to the next try)."""
        assert self._decision is not None and self._decision.format is not None and self._research is not None
        return DrawRequest(topic_id=self._topic_id, round=0,
                           composition=self._research.composition or COMPOSITION_BY_FORMAT[self._decision.format],
                           expertise=self._research.expertise, exclude_departments=self._research.exclude_departments,
                           quotas=list(self._research.quotas))

    def _announce_value(self) -> PublicValueAnnouncement:
        """The public value the next draw will mix in: named now, known later."""
        timing = self._timing
        at = workflow.now() + timedelta(seconds=timing.seconds(timing.public_value_days))
        return PublicValueAnnouncement(
            source=f"{timing.public_value_source}, the first published after {at:%Y-%m-%d %H:%M:%S} UTC",
            at=at.isoformat(), format=timing.public_value_format)

    async def _reveal(self, result: DrawResult, announce: PublicValueAnnouncement) -> DrawResult:
        """Phase 2 of an announced draw, in this order: publish the announcement in the
        status, wait (a durable timer) until the value is public, wait for staff to
        enter it (``enter_public_value``, validated), then reveal through talent."""
        if result.panel:  # drawn already (a retried announcement that was revealed)
            return result
        self._announcement = DrawAnnouncement(
            draw_id=result.draw_id, round=result.round, portfolio_hash=result.portfolio_hash,
            commitment=result.commitment, public_randomness_source=announce.source,
            public_randomness_at=announce.at, public_randomness_format=announce.format)
        self._public_value = None
        self._details()
        at = datetime.fromisoformat(announce.at)
        if at > workflow.now():
            await workflow.sleep(at - workflow.now(), summary=f"public value of draw {result.draw_id} becomes known")
        await workflow.wait_condition(lambda: self._public_value is not None)
        request = RevealRequest(topic_id=self._topic_id, draw_id=result.draw_id, round=result.round,
                                public_randomness=self._public_value or "")
        revealed = await self._step(
            "reveal_draw", LifecycleActivities.reveal_draw, lambda: request,
            summary=f"talent: reveal draw {result.draw_id} with the public value", legacy=_ACTIVITY,
        )
        self._announcement = None
        self._public_value = None
        return revealed

    async def _draw_and_invite(self) -> None:
        await self._advance(Stage.DRAWING)
        announced = workflow.patched(ANNOUNCED_DRAWS)
        announce = self._announce_value() if announced else None
        result = await self._step(
            "draw_participants",
            LifecycleActivities.draw_participants,
            (lambda: dataclasses.replace(self._draw_request(), announce=announce)) if announced else self._draw_request,
            summary="talent: draw the participants",
            legacy=_ACTIVITY,
        )
        if announce is not None:
            result = await self._reveal(result, announce)
        self._draw_id, self._panel = result.draw_id, result.panel
        self._invite(result.drawn, 0)
        await self._advance(Stage.INVITING)
        while True:
            pending = [i for i in self._invitations.values() if i.answer == "pending"]
            refused = self._refused()
            if refused:
                self._round += 1
                announce = self._announce_value() if announced else None
                request = ReplacementRequest(topic_id=self._topic_id, draw_id=self._draw_id, round=self._round,
                                             declined=[i.person_id for i in refused], announce=announce)
                result = await self._step(
                    "draw_replacements",
                    LifecycleActivities.draw_replacements,
                    lambda: request,  # noqa: B023 - called before the next iteration
                    summary=f"talent: replacement round {self._round} for {len(refused)} seat(s)",
                    legacy=_ACTIVITY,
                )
                if announce is not None:
                    result = await self._reveal(result, announce)
                for invitation in refused:
                    invitation.answer += "+replaced"
                # The next replacement round starts from this round's panel.
                self._draw_id, self._panel = result.draw_id, result.panel
                self._invite(result.drawn, self._round)
                continue
            if not pending:
                return  # everyone on the panel accepted
            first_deadline = min(datetime.fromisoformat(i.reply_by) for i in pending)
            answered = await self._wait_until(lambda: bool(self._refused()) or not any(
                i.answer == "pending" for i in self._invitations.values()), first_deadline, "invitation replies due")
            if not answered:
                for invitation in pending:
                    if invitation.answer == "pending" and datetime.fromisoformat(invitation.reply_by) <= workflow.now():
                        invitation.answer = "silent"  # silence counts as a decline
                self._details()

    async def _advance(self, stage: str) -> None:
        """Enter a lifecycle stage and tell intake, whose stored stage listings filter on."""
        self._enter(stage)
        if workflow.patched("mirror-stage-v1"):
            await self._step(
                "mirror_topic_stage",
                LifecycleActivities.mirror_topic_stage,
                lambda: TopicStage(topic_id=self._topic_id, stage=stage),
                summary=f"intake: stage {stage}",
                legacy=_ACTIVITY,
            )

    def _invite(self, person_ids: list[int], round_: int) -> None:
        reply_by = workflow.now() + timedelta(seconds=self._timing.seconds(self._timing.invitation_reply_days))
        for pid in person_ids:
            self._invitations[pid] = Invitation(person_id=pid, round=round_, reply_by=reply_by.isoformat())
        self._details()

    def _refused(self) -> list[Invitation]:
        return [i for i in self._invitations.values() if i.answer in ("declined", "silent")]

    async def _wait_until(self, done, when: datetime, summary: str) -> bool:
        """Wait for ``done`` until ``when``; False when the time came first."""
        if done():
            return True
        try:
            await workflow.wait_condition(done, timeout=max((when - workflow.now()).total_seconds(), 0.001),
                                          timeout_summary=summary)
            return True
        except TimeoutError:
            return False

    async def _notice(self, kind: str, payload: dict, recipients: list[str] | None = None) -> None:
        request = NoticeRequest(
            idempotency_key=f"topic-{self._topic_id}-{kind}",
            kind=kind,
            recipients=recipients or [f"submitters:topic-{self._topic_id}"],
            payload={"topic_id": self._topic_id, **payload},
        )
        await self._step("send_notice", LifecycleActivities.send_notice, lambda: request,
                         summary=f"notice: {kind}", legacy=_ACTIVITY)

    async def _event(self, kind: str, detail: dict | None = None, *, key: str | None = None,
                     summary: str | None = None, legacy: dict = _ACTIVITY, local: bool = False) -> None:
        """Record a consultation event in evaluation under ``topic-<id>-<key>`` (``key``:
        the kind): one key per (topic, event), so a retried activity records it once.
        ``legacy``: the options of runs from before needs-attention-v1 (the received and
        decided events had their own)."""
        occurred_at = workflow.now().isoformat()
        await self._step(
            "record_consultation_event",
            ConsultationActivities.record_consultation_event,
            lambda: RecordEventInput(event_key=f"topic-{self._topic_id}-{key or kind}", kind=kind,
                                     topic_id=self._topic_id, occurred_at=occurred_at, detail=detail or {}),
            summary=summary or f"evaluation: record {kind}",
            legacy=legacy,
            local=local,
        )

    # ------------------------------------------------------------------ needs attention
    async def _notify_attention(self, attention: Attention) -> None:
        """One notice to the office per episode (evaluation's outbox), sent once: no
        second wait for staff if the notice itself cannot be sent."""
        await workflow.execute_activity_method(
            LifecycleActivities.send_notice,
            NoticeRequest(
                idempotency_key=f"topic-{self._topic_id}-needs-attention-{attention.episode}",
                kind="consultation.needs_attention",
                recipients=["office:cppcc"],
                payload={"topic_id": self._topic_id, "stage": self._stage, "step": attention.step,
                         "reason": attention.reason},
            ),
            summary=f"notice: needs attention at {attention.step}",
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=10),
        )

    def _attention_changed(self) -> None:
        self._details()

    @workflow.update
    def resume(self, request: ResumeConsultation) -> ConsultationStatus:
        """Staff fixed the cause (待处理 → resumed): the failed step runs again, with
        the amended research report when one is sent."""
        if request.research is not None:
            self._research = request.research
        self._resume(request)
        return self.status()

    @resume.validator
    def _validate_resume_consultation(self, request: ResumeConsultation) -> None:
        self._validate_resume()
        assert self._attention is not None
        if request.research is not None and self._attention.step != "draw_participants":
            raise ValueError(f"an amended research report applies to the draw, not to {self._attention.step}")

    def _summary(self) -> dict:
        return {
            "format": self._decision.format if self._decision else None,
            "organiser": self._decision.organiser if self._decision else None,
            "plan_year": self._decision.plan_year if self._decision else None,
            "panel_size": len(self._panel),
            "replacement_rounds": self._round,
            "meeting_id": self._meeting_id,
            "commitments": len(self._commitment_ids),
            "satisfaction": sorted(str(v) for v in self._closed.values()),
        }

    # ------------------------------------------------------------------ staff actions
    @workflow.update
    def complete_research(self, report: ResearchCompleted) -> ConsultationStatus:
        self._research = report
        return self.status()

    @complete_research.validator
    def _validate_research(self, report: ResearchCompleted) -> None:
        if self._stage != Stage.RESEARCH:
            raise ValueError(f"research can be completed in stage research, not {self._stage}")

    @workflow.update
    def answer_invitation(self, answer: InvitationAnswer) -> ConsultationStatus:
        invitation = self._invitations[answer.person_id]
        invitation.answer = "accepted" if answer.accepted else "declined"
        self._details()
        return self.status()

    @workflow.update
    def enter_public_value(self, value: PublicValue) -> ConsultationStatus:
        """Staff enter the announced public value once it is public."""
        self._public_value = value.public_randomness
        return self.status()

    @enter_public_value.validator
    def _validate_public_value(self, value: PublicValue) -> None:
        announcement = self._announcement
        if announcement is None:
            raise ValueError("no draw of this consultation waits for a public value")
        if value.draw_id != announcement.draw_id:
            raise ValueError(f"draw {value.draw_id} is not the announced one (draw {announcement.draw_id})")
        if self._public_value is not None and self._public_value != value.public_randomness:
            raise ValueError(f"the public value of draw {announcement.draw_id} was entered already")
        if workflow.now() < datetime.fromisoformat(announcement.public_randomness_at):
            raise ValueError(f"{announcement.public_randomness_source} becomes public at "
                             f"{announcement.public_randomness_at}; enter it then")
        problem = public_value_problem(value.public_randomness, announcement.public_randomness_format)
        if problem is not None:
            raise ValueError(f"public_randomness: {problem}")

    @answer_invitation.validator
    def _validate_answer(self, answer: InvitationAnswer) -> None:
        if self._stage != Stage.INVITING:
            raise ValueError(f"invitations are answered in stage inviting, not {self._stage}")
        invitation = self._invitations.get(answer.person_id)
        if invitation is None:
            raise ValueError(f"person {answer.person_id} was not invited")
        if invitation.answer != "pending":
            raise ValueError(f"person {answer.person_id} already answered ({invitation.answer.split('+')[0]})")

    @workflow.update
    def meeting_held(self, meeting: MeetingHeld) -> ConsultationStatus:
        self._meeting_id = meeting.meeting_id
        return self.status()

    @meeting_held.validator
    def _validate_meeting(self, meeting: MeetingHeld) -> None:
        if self._stage != Stage.MEETING:
            raise ValueError(f"the meeting is recorded in stage meeting, not {self._stage}")

    @workflow.signal
    def follow_up_closed(self, closed: FollowUpClosed) -> None:
        self._closed[closed.commitment_id] = closed.satisfaction
        self._details()

    def _details(self) -> None:
        answers: dict[str, int] = {}
        for invitation in self._invitations.values():
            key = invitation.answer.split("+")[0]
            answers[key] = answers.get(key, 0) + 1
        lines = [
            f"**议题 #{self._topic_id}** · stage: {self._stage}",
            f"- panel: {len(self._panel)} people, replacement rounds: {self._round}",
            f"- invitations: {', '.join(f'{k} {v}' for k, v in sorted(answers.items())) or 'none'}",
            f"- commitments: {len(self._commitment_ids)}, closed: {len(self._closed)}",
        ]
        announcement = getattr(self, "_announcement", None)
        if announcement is not None:
            lines.insert(1, f"- draw {announcement.draw_id} announced: public value "
                            f"{announcement.public_randomness_source} (from {announcement.public_randomness_at})")
        attention = getattr(self, "_attention", None)
        if attention is not None:
            lines.insert(1, f"- **待处理 needs attention** at {attention.step}: {attention.reason}")
        workflow.set_current_details("\n".join(lines))

    @workflow.update
    def decide(self, decision: DecisionInput) -> ConsultationStatus:
        """The chair's decision. Delivered again with the same decision id (a retry
        after a lost answer), it answers the same status and changes nothing."""
        if self._decision is not None and self._decision.decision_id == decision.decision_id:
            return self.status()
        self._decision = decision
        if decision.outcome == Outcome.ACCEPTED:
            assert decision.format and decision.organiser and decision.plan_year
            self._plan_attributes(decision.format, decision.organiser, decision.plan_year)
            self._enter(Stage.ACCEPTED)
        elif decision.outcome == Outcome.REJECTED:
            self._enter(Stage.REJECTED)
        else:
            self._enter(Stage.MERGED)
        return self.status()

    @decide.validator
    def _validate_decision(self, decision: DecisionInput) -> None:
        # Raising here rejects the update before it reaches the history.
        if self._decision is not None and self._decision.decision_id == decision.decision_id:
            return
        if self._stage != Stage.SUBMITTED:
            raise ValueError(f"topic {self._topic_id} was already decided (stage {self._stage})")
        problem = decision_problem(decision, self._topic_id)
        if problem:
            raise ValueError(problem)

    @workflow.update
    def amend_plan(self, amendment: PlanAmendment) -> ConsultationStatus:
        """The plan entry's format, organiser or year changed (the year's plan edited)."""
        self._plan_attributes(amendment.format, amendment.organiser, amendment.plan_year)
        if self._decision is not None:
            self._decision.format = amendment.format
            self._decision.organiser = amendment.organiser
            self._decision.plan_year = amendment.plan_year
        return self.status()

    @amend_plan.validator
    def _validate_amendment(self, amendment: PlanAmendment) -> None:
        if self._stage not in AMENDABLE or self._decision is None:
            raise ValueError(f"topic {self._topic_id} is not in a plan open to amendment (stage {self._stage})")
        if amendment.decision_id != self._decision.decision_id:
            raise ValueError("the amendment names another decision")
        if amendment.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}")
        if not amendment.organiser or not 2000 <= amendment.plan_year <= 2100:
            raise ValueError("organiser and a plan year between 2000 and 2100 are required")

    def _plan_attributes(self, format_: str, organiser: str, plan_year: int) -> None:
        workflow.upsert_search_attributes(
            [
                CONSULTATION_FORMAT.value_set(format_),
                ORGANISER.value_set(organiser),
                PLAN_YEAR.value_set(plan_year),
            ]
        )

    @workflow.query
    def status(self) -> ConsultationStatus:
        return ConsultationStatus(
            topic_id=self._topic_id,
            stage=self._stage,
            draw_id=self._draw_id,
            panel=list(self._panel),
            invitations=list(self._invitations.values()),
            meeting_id=self._meeting_id,
            commitment_ids=list(self._commitment_ids),
            closed_commitment_ids=sorted(self._closed),
            needs_attention=self._attention,
            announcement=self._announcement,
        )

    def _enter(self, stage: str) -> None:
        self._stage = stage
        workflow.upsert_search_attributes([CONSULTATION_STAGE.value_set(stage)])
        self._details()

    def _enter_unless_set(self, stage: str) -> None:
        """``_enter``, without the upsert when the attribute holds the stage already (a
        start sets it)."""
        if workflow.info().typed_search_attributes.get(CONSULTATION_STAGE) == stage:
            self._stage = stage
            self._details()
        else:
            self._enter(stage)
