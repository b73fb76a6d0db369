"""The web app: the patients' chat and the content team's admin page (the only gradio module).

``create_app`` mounts two separate Gradio apps on one FastAPI server:

- ``/`` the patient chat: cited answers with a sources panel per answer, example
  questions, a standing notice, an unmistakable crisis reply, thumbs up/down with an
  optional comment (saved to the journal), and a typed ``/ask`` API endpoint.
- ``/admin`` the admin page, behind Gradio's login with the password from
  ``KAPBOT_ADMIN_PASSWORD`` (user ``admin``). Without a password it is not mounted at all:
  the path answers with a page saying it is disabled. Because it is a separate app, none
  of its functions exist in the patient app's API; each also re-checks the login.

Example:
    >>> app = create_app(Bot(settings), settings)  # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=7860)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from gradio.events import api as gr_api

from kapbot import content
from kapbot.adaptation import STOCK
from kapbot.background import BackgroundFit
from kapbot.bot import Bot
from kapbot.crisis_reply import without_crisis
from kapbot.errors import IndexUnavailableError, KapbotError
from kapbot.handoff import BEST_TIMES, CallbackRequest, InvalidRequest, RateLimit, post_webhook
from kapbot.ingest import Indexer
from kapbot.inputs import encodable
from kapbot.journal import FeedbackRecord, Journal
from kapbot.login_guard import LoginGuard, same_secret
from kapbot.records import Reply
from kapbot.render import (
    CRISIS_CLASS,
    FRIENDLY_ERROR,
    plain_title,
    reply_messages,
    shown_text,
    user_message,
)
from kapbot.settings import Settings
from kapbot.suggest import MAX_SUGGESTIONS
from kapbot.texts import ReplyTexts, safety_text

log = logging.getLogger(__name__)

ADMIN_USER = "admin"
EXAMPLES = (
    "What is ketamine-assisted psychotherapy?",
    "How is KAP different from IV ketamine infusions?",
    "What is Spravato and does insurance cover it?",
    "What are the possible side effects?",
    "Can I do ketamine treatment at home?",
)
CSS = f"""
.{CRISIS_CLASS} {{ border-left: 6px solid #b42318; background: #fef3f2; color: #3b0a06;
  padding: 0.6em 1em; border-radius: 6px; }}
#kapbot-notice {{ font-size: 0.92em; background: #f0f7ff; border-radius: 8px; padding: 0.4em 0.9em; }}
#kapbot-crisis-banner {{ border: 2px solid #b42318; background: #fef3f2; border-radius: 8px;
  padding: 0.2em 0.8em; position: fixed; top: 0.3em; left: 0.5em; right: 0.5em; z-index: 1000;
  margin: 0 auto; max-width: 60em; width: auto !important; box-sizing: border-box; box-shadow: 0 2px 6px rgba(0, 0, 0, 0.15); }}
#kapbot-crisis-banner p {{ margin: 0.2em 0; }}
#kapbot-crisis-banner a, .{CRISIS_CLASS} a {{ color: #8a1c12; font-weight: 600;
  text-decoration: underline; }}
#kapbot-chat [data-testid="bot"] {{ scroll-margin-top: 5em; }}
/* One scroll area, the page's: the chat grows with its replies instead of scrolling inside
   the scrolling page, and the question box stays at the bottom of the screen. */
#kapbot-chat, #kapbot-chat > .wrapper, #kapbot-chat .bubble-wrap {{ height: auto !important;
  max-height: none !important; overflow: visible !important; }}
#kapbot-chat {{ min-height: 8em; }}
#kapbot-chat .scroll-down-button-container {{ display: none !important; }}
.gradio-container {{ overflow-x: clip !important; overflow-y: visible !important; }}
#kapbot-composer {{ position: sticky; bottom: 0; z-index: 50; flex-wrap: nowrap;
  background: var(--body-background-fill); padding: 0.4em 0; margin: 0;
  box-shadow: 0 -6px 8px -8px rgba(0, 0, 0, 0.3); }}
#kapbot-input textarea {{ font-size: 16px; }}
#kapbot-input textarea:focus-visible, #kapbot-comment textarea:focus-visible,
#kapbot-chat .thought-group > .title:focus-visible {{ outline: 3px solid #0f766e;
  outline-offset: 2px; }}
#kapbot-send {{ min-width: 4.5em; flex-grow: 0; }}
#kapbot-chat .thought-group > .title button {{ pointer-events: none; opacity: 1 !important; }}
#kapbot-examples .label, #kapbot-examples .label * {{ color: #0f766e !important; }}
#kapbot-title h1 {{ font-size: 1.5em; margin: 0.2em 0; }}
.kapbot-suggestion {{ white-space: normal; text-align: left; height: auto; }}
"""


# On the patient page: the page scrolls each new reply to its start, below the banner when
# it is shown (not to its end, which hides the first lines: for a crisis reply, the
# Lifeline); the banner that stays in view is a labelled region.
PATIENT_JS = r"""
() => {
  let shown = 0;
  const bannerBottom = () => {
    const banner = document.getElementById('kapbot-crisis-banner');
    return banner && banner.getClientRects().length ? banner.getBoundingClientRect().bottom : 0;
  };
  const reveal = (reply) => {
    // The page is the one scroll area: the reply's first line goes just below the
    // banner (when shown), or a little below the top of the screen.
    window.scrollBy(0, reply.getBoundingClientRect().top - Math.max(bannerBottom(), 0) - 12);
  };
  // Each source toggle is one control: its title (a button) says whether it is open; the
  // arrow inside it is decoration, out of the tab order and hidden from screen readers.
  const toggles = () => {
    document.querySelectorAll('#kapbot-chat .thought-group > .title').forEach((title) => {
      const arrow = title.querySelector('button');
      if (arrow && !arrow.disabled) {
        arrow.disabled = true;
        arrow.setAttribute('tabindex', '-1');
        arrow.setAttribute('aria-hidden', 'true');
      }
      const turned = title.querySelector('.arrow');
      const open = String(!!turned && !/rotate\(0deg\)/.test(turned.style.transform || 'rotate(0deg)'));
      if (title.getAttribute('aria-expanded') !== open) title.setAttribute('aria-expanded', open);
    });
  };
  const watch = () => {
    toggles();
    const status = document.getElementById('kapbot-status');
    if (status && !status.hasAttribute('role')) {
      status.setAttribute('role', 'status');  // "Thank you for your feedback" is announced
      status.setAttribute('aria-live', 'polite');
    }
    const banner = document.getElementById('kapbot-crisis-banner');
    if (banner && !banner.hasAttribute('role')) {
      banner.setAttribute('role', 'region');
      banner.setAttribute('aria-label', 'Crisis help');
    }
    const replies = document.querySelectorAll('#kapbot-chat [data-testid="bot"]');
    if (replies.length < shown) shown = 0;
    if (replies.length > shown) {
      const first = replies[shown];
      shown = replies.length;
      setTimeout(() => reveal(first), 300);
      setTimeout(() => reveal(first), 1000);
    }
  };
  new MutationObserver(watch).observe(document.body, {
    childList: true, subtree: true, attributes: true, attributeFilter: ['style'],
  });
}
"""


# On the admin page: an empty table's "no data" box carries a label, so it gets a role.
ADMIN_JS = """
() => {
  const fix = () => document.querySelectorAll('.empty[aria-label]:not([role])')
    .forEach((e) => e.setAttribute('role', 'note'));
  new MutationObserver(fix).observe(document.body, {childList: true, subtree: true});
  fix();
}
"""


def _notice(settings: Settings) -> str:
    return ReplyTexts.load().get(
        "safety", "notice", clinic=settings.clinic_name, days=settings.retention_days
    )


CRISIS_BANNER = safety_text("banner")


class PatientChat:
    """The patient-facing handlers: plain Python over a Bot and a Journal."""

    def __init__(self, bot: Bot, journal: Journal, handoff: Handoff | None = None) -> None:
        self.bot = bot
        self.journal = journal
        self.handoff = handoff or Handoff(journal, Settings())

    def answer(self, question: str, history: list[dict[str, str]]) -> Reply:
        """Ask the bot; abstentions are recorded as content gaps (crisis messages never,
        nor requests to write something or drop the instructions: no document answers
        those)."""
        reply = self.bot.ask(question, history=history)
        if reply.kind == "crisis":
            try:  # a count per day, for the published protocol: nothing of the message
                self.journal.count_crisis_reply()
            except Exception:
                log.exception("could not count a crisis reply")
        if reply.kind == "abstain" and reply.decline not in {"task", "contact"}:
            best = max((p.similarity for p in reply.passages), default=0.0)
            try:
                self.journal.add_gap(question.strip()[:2000], reply.query, best)
            except Exception:  # the journal must never break an answer
                log.exception("could not record a content gap")
        return reply

    def respond(
        self,
        message: str,
        chat: list[dict[str, Any]],
        conversation: list[dict[str, str]],
        turns: list[dict[str, Any]],
    ) -> Iterator[tuple[Any, ...]]:
        """Show the patient's message at once, then the answer and its sources."""
        # Nothing unencodable goes on (lone surrogates from a broken client).
        message = encodable(message) if isinstance(message, str) else ""
        chat = [*chat, user_message(message)]
        yield ("", chat, conversation, turns, gr.update(), *suggestion_buttons(()), _person(False))
        try:
            reply = self.answer(message, conversation)
        except Exception:
            log.exception("failed to answer a web message")
            yield (
                "",
                [*chat, {"role": "assistant", "content": FRIENDLY_ERROR}],
                conversation,
                turns,
                gr.update(),
                *suggestion_buttons(()),
                _person(True),
            )
            return
        shown = reply_messages(reply)
        first = len(chat)
        chat = chat + shown
        if reply.kind != "invalid":
            conversation = [
                *conversation,
                {"role": "user", "content": message},
                {"role": "assistant", "content": shown_text(reply)},
            ]
        if reply.kind in {"answer", "abstain"}:
            turns = [
                *turns,
                {
                    "first": first,
                    "last": len(chat) - 1,
                    "question": message,
                    # Nothing of a message that got the crisis reply is ever stored.
                    "history": without_crisis(conversation[:-2]),
                    "answer": reply.text,
                    "kind": reply.kind,
                    "citations": [c.to_dict() for c in reply.citations],
                    "feedback_id": None,
                },
            ]
        banner = gr.update(visible=True) if reply.kind == "crisis" else gr.update()
        declined = reply.kind == "abstain"
        yield (
            "",
            chat,
            conversation,
            turns,
            banner,
            *suggestion_buttons(reply.suggestions),
            _person(declined),
        )

    def rate(
        self, turns: list[dict[str, Any]], index: int, liked: bool
    ) -> tuple[list[dict[str, Any]], str]:
        """Save a thumbs up/down for the answer that message ``index`` belongs to."""
        turn = next((t for t in turns if t["first"] <= index <= t["last"]), None)
        if turn is None:
            return turns, "Feedback can be given on answers only."
        rating = 1 if liked else -1
        if turn["feedback_id"] is None:
            turn = {**turn, "feedback_id": self.journal.add_feedback(_record(turn, rating))}
        else:
            self.journal.update_feedback(turn["feedback_id"], rating=rating)
        turns = [turn if t["first"] == turn["first"] else t for t in turns]
        return turns, "Thank you for your feedback. You can add a comment below."

    def comment(
        self, turns: list[dict[str, Any]], text: str
    ) -> tuple[list[dict[str, Any]], str, str]:
        """Attach a comment to the most recently rated answer (or the last answer)."""
        text = encodable(text or "").strip()[:2000]
        if not text:
            return turns, "", "Please type a comment first."
        if self.bot.crisis.check(text, words_only=True).level == "crisis":
            # Crisis language in a comment: help, and nothing of it kept.
            return turns, "", f"{CRISIS_BANNER} (This comment was not saved.)"
        if not turns:
            return turns, text, "Ask a question first; comments are about an answer."
        rated = [t for t in turns if t["feedback_id"] is not None]
        turn = rated[-1] if rated else turns[-1]
        if turn["feedback_id"] is None:
            turn = {**turn, "feedback_id": self.journal.add_feedback(_record(turn, None, text))}
        else:
            self.journal.update_feedback(turn["feedback_id"], comment=text)
        turns = [turn if t["first"] == turn["first"] else t for t in turns]
        return turns, "", "Thank you, your comment was saved."


def _person(shown: bool) -> Any:
    """The "Talk to a person" button: offered with every decline (and after an error)."""
    return gr.update(visible=shown)


def suggestion_buttons(offered: tuple[str, ...] | list[str]) -> list[Any]:
    """Updates for the suggestions' lead-in and buttons: one button per suggestion, the
    rest hidden (the lead-in too, when there is none)."""
    shown = list(offered)[:MAX_SUGGESTIONS]
    return [
        gr.update(visible=bool(shown)),
        *(
            gr.update(value=shown[i], visible=True) if i < len(shown) else gr.update(visible=False)
            for i in range(MAX_SUGGESTIONS)
        ),
    ]


def _record(turn: dict[str, Any], rating: int | None, comment: str = "") -> FeedbackRecord:
    return FeedbackRecord(
        question=turn["question"],
        answer=turn["answer"],
        rating=rating,
        comment=comment,
        kind=turn["kind"],
        history=tuple(turn["history"]),
        citations=tuple(turn["citations"]),
    )


class Handoff:
    """Requests for a person to call or write back: checked, rate-limited per browser
    session and per address, queued in the journal and posted to the clinic's webhook."""

    def __init__(self, journal: Journal, settings: Settings) -> None:
        self.journal = journal
        self.settings = settings
        self.per_session = RateLimit(limit=3, window=3600)
        self.per_address = RateLimit(limit=10, window=3600)

    def intro(self) -> str:
        """What the form says first: the clinic's own ways to reach it, when set."""
        texts = ReplyTexts.load()
        lines = [texts.get("handoff", "intro", clinic=self.settings.clinic_name)]
        if ReplyTexts.has_contact(self.settings):
            lines.append(texts.contact(self.settings))
        return "\n\n".join(lines)

    def request(
        self, name: str, contact: str, best_time: str, consent: bool, session: str, address: str
    ) -> str:
        """Queue one request; what to tell the patient."""
        try:
            wanted = CallbackRequest.checked(name, contact, best_time, consent)
        except InvalidRequest as problem:
            return str(problem)
        now = time.monotonic()
        if not (self.per_session.allow(session, now) and self.per_address.allow(address, now)):
            return ReplyTexts.load().get("handoff", "already")
        _id, created = self.journal.add_callback(wanted.name, wanted.contact, wanted.best_time)
        if self.settings.handoff_webhook:
            post_webhook(self.settings.handoff_webhook, wanted, created)
        return ReplyTexts.load().get(
            "handoff",
            "thanks",
            name=wanted.name,
            clinic=self.settings.clinic_name,
            best_time=wanted.best_time.lower(),
        )


def patient_app(chat: PatientChat, settings: Settings) -> gr.Blocks:
    """The patients' page."""
    demo = gr.Blocks(title="Questions about ketamine treatment")
    with demo:
        gr.Markdown(
            f"# Questions about ketamine treatment at {settings.clinic_name}",
            elem_id="kapbot-title",
        )
        gr.Markdown(_notice(settings), elem_id="kapbot-notice")
        banner = gr.Markdown(CRISIS_BANNER, elem_id="kapbot-crisis-banner", visible=False)
        chatbot = gr.Chatbot(
            label="Chat",
            show_label=False,
            autoscroll=False,
            sanitize_html=True,
            feedback_options=("Like", "Dislike"),
            buttons=["copy", "copy_all"],  # no "share": it does nothing for a patient
            group_consecutive_messages=True,
            elem_id="kapbot-chat",
            placeholder="Ask about ketamine-assisted psychotherapy, at-home ketamine, IV "
            "infusions, Spravato, cost, insurance, risks and what to expect.",
        )
        conversation = gr.State([])
        turns = gr.State([])
        with gr.Row(elem_id="kapbot-suggestions"):
            lead = gr.Markdown(
                ReplyTexts.load().get("suggestions", "lead"),
                visible=False,
                elem_id="kapbot-suggestions-lead",
            )
            suggested = [
                gr.Button(
                    visible=False,
                    size="sm",
                    variant="secondary",
                    elem_classes=["kapbot-suggestion"],
                    elem_id=f"kapbot-suggestion-{i}",
                )
                for i in range(MAX_SUGGESTIONS)
            ]
            person = gr.Button(
                "Talk to a person",
                visible=False,
                size="sm",
                variant="secondary",
                elem_id="kapbot-talk-to-a-person",
            )
        with gr.Row(elem_id="kapbot-composer"):
            box = gr.Textbox(
                placeholder="Type your question…",
                label="Your question",
                show_label=False,
                scale=8,
                min_width=0,
                max_lines=6,
                max_length=settings.max_message_chars * 4,
                elem_id="kapbot-input",
            )
            send = gr.Button("Send", variant="primary", scale=1, min_width=0, elem_id="kapbot-send")
        with gr.Accordion("Talk to a person", open=False, elem_id="kapbot-handoff") as handoff:
            gr.Markdown(chat.handoff.intro())
            with gr.Row():
                callback_name = gr.Textbox(
                    label="First name", max_length=60, elem_id="kapbot-cb-name"
                )
                callback_contact = gr.Textbox(
                    label="Phone or e-mail", max_length=80, elem_id="kapbot-cb-contact"
                )
            callback_time = gr.Dropdown(
                list(BEST_TIMES), value=BEST_TIMES[0], label="Best time", elem_id="kapbot-cb-time"
            )
            callback_consent = gr.Checkbox(
                label="The clinic may contact me about this request.", elem_id="kapbot-cb-consent"
            )
            callback_send = gr.Button("Ask for a call back", elem_id="kapbot-cb-send")
            callback_status = gr.Markdown("", elem_id="kapbot-cb-status")
        gr.Examples(
            [[e] for e in EXAMPLES],
            inputs=[box],
            label="Example questions",
            elem_id="kapbot-examples",
        )
        with gr.Row():
            comment_box = gr.Textbox(
                placeholder="Optional: tell us what was helpful or missing in the last answer",
                show_label=False,
                scale=8,
                max_lines=3,
                elem_id="kapbot-comment",
            )
            comment_btn = gr.Button("Send comment", scale=1, elem_id="kapbot-comment-send")
        status = gr.Markdown("", elem_id="kapbot-status")

        outputs = [box, chatbot, conversation, turns, banner, lead, *suggested, person]
        for trigger in (box.submit, send.click):
            trigger(
                chat.respond,
                [box, chatbot, conversation, turns],
                outputs,
                api_visibility="private",
                show_progress="minimal",
            )
        for button in suggested:  # a suggested question is sent as the patient's message
            button.click(
                chat.respond,
                [button, chatbot, conversation, turns],
                outputs,
                api_visibility="private",
                show_progress="minimal",
            )

        def on_like(turns_value: list[dict[str, Any]], data: gr.LikeData) -> tuple[Any, str]:
            index = data.index if isinstance(data.index, int) else data.index[0]
            try:
                return chat.rate(turns_value, index, data.liked is True)
            except Exception:
                log.exception("could not save feedback")
                return turns_value, "Sorry, your feedback could not be saved."

        chatbot.like(on_like, [turns], [turns, status], api_visibility="private")

        def on_callback(
            name: str, contact: str, best: str, consent: bool, request: gr.Request
        ) -> str:
            session = getattr(request, "session_hash", None) or "unknown"
            address = request.client.host if request and request.client else "unknown"
            try:
                return chat.handoff.request(name, contact, best, consent, session, address)
            except Exception:
                log.exception("could not queue a call-back request")
                return ReplyTexts.load().get("handoff", "failed")

        callback_send.click(
            on_callback,
            [callback_name, callback_contact, callback_time, callback_consent],
            [callback_status],
            api_visibility="private",
        )
        person.click(lambda: gr.update(open=True), None, [handoff], api_visibility="private")

        def on_clear() -> tuple[Any, ...]:
            # A new conversation: the bot's history goes with what is on the screen (the
            # crisis banner, once shown, stays).
            return ([], [], "", *suggestion_buttons(()), _person(False))

        chatbot.clear(
            on_clear,
            None,
            [conversation, turns, status, lead, *suggested, person],
            api_visibility="private",
        )

        def on_comment(turns_value: list[dict[str, Any]], text: str) -> tuple[Any, str, str]:
            try:
                return chat.comment(turns_value, text)
            except Exception:
                log.exception("could not save a comment")
                return turns_value, text, "Sorry, your comment could not be saved."

        comment_btn.click(
            on_comment, [turns, comment_box], [turns, comment_box, status], api_visibility="private"
        )

        def ask(question: str, history: list[dict[str, str]] | None = None) -> dict[str, Any]:
            """Answer a question from the clinic's documents, with numbered citations.

            ``history`` is the conversation so far: ``{"role": "user"|"assistant",
            "content": str}`` items. Returns ``{"kind", "text", "citations", "passages",
            "suggestions"}``.
            """
            try:
                return chat.answer(question, history or []).to_dict()
            except Exception:
                log.exception("failed to answer an API call")
                return Reply("invalid", FRIENDLY_ERROR).to_dict()

        gr_api(ask, api_name="ask")
    demo.queue(default_concurrency_limit=settings.web_concurrency, max_size=settings.web_queue_size)
    return demo


class Admin:
    """The content team's handlers; each one re-checks that the caller logged in."""

    def __init__(
        self,
        bot: Bot,
        journal: Journal,
        settings: Settings,
        fitting: BackgroundFit | None = None,
    ) -> None:
        self.bot = bot
        self.journal = journal
        self.settings = settings
        self.fitting = fitting
        # No fitting inside a web request (minutes): an index emptied and refilled here
        # gets the packaged model; `kapbot ingest --rebuild` fits one.
        self.indexer = Indexer.open(settings.with_(adapt=False), embeddings=bot.embeddings)

    @staticmethod
    def check(request: gr.Request | None) -> None:
        if request is None or getattr(request, "username", None) != ADMIN_USER:
            raise gr.Error("Please log in to the admin page.")

    def model_status(self) -> str:
        """Which model embeds the passages, and how far a background fitting has got."""
        line = self.fitting.status() if self.fitting is not None else ""
        if not line:
            line = (
                "the packaged all-MiniLM-L6-v2"
                if self.bot.model == STOCK
                else f"{self.bot.model}, fitted to the documents"
            )
        return f"**Passage model:** {line}"

    def documents(self) -> list[list[Any]]:
        rows = []
        for s in self.indexer.sources():
            warnings = "; ".join(f"promise language: “{w[:80]}”" for w in s.warnings)
            rows.append([s.source, plain_title(s.title), s.chunks, s.added, warnings])
        return rows

    def _refreshed(self) -> None:
        try:
            self.bot.refresh()
        except IndexUnavailableError as exc:  # the next message looks again
            log.warning("could not reload the index after an admin change: %s", exc)

    def upload(self, files: list[str] | None) -> str:
        if not files:
            return "Choose one or more files first."
        pairs = [(Path(f), Path(f).name) for f in files]
        result = content.upload(self.indexer, pairs)
        self._refreshed()
        return result.summary()

    def remove(self, source: str | None) -> str:
        if not source:
            return "Choose a document to remove."
        report = content.remove(self.indexer, source)
        self._refreshed()
        lines = [f"Error: {e}" for e in report.errors] + [f"Note: {n}" for n in report.notices]
        return "\n".join([*lines, report.summary()])

    def feedback(self) -> list[list[Any]]:
        return [
            [
                r.created,
                {1: "👍", -1: "👎"}.get(r.rating or 0, ""),
                r.question,
                r.answer[:300],
                r.comment,
                ", ".join(str(c.get("source", "")) for c in r.citations),
            ]
            for r in self.journal.feedback()
        ]

    def callbacks(self) -> list[list[Any]]:
        """Requests for a person to call or write back, waiting ones first."""
        return [list(row) for row in self.journal.callbacks()]

    def mark_done(self, row_id: float | None) -> str:
        if row_id is None or not self.journal.mark_callback_done(int(row_id)):
            return "No waiting request with that number."
        log.info("admin: call-back request %d marked done", int(row_id))
        return f"Request {int(row_id)} marked done."

    def crisis_days(self) -> list[list[Any]]:
        """Crisis replies per day (counts only)."""
        return [[day, n] for day, n in self.journal.crisis_days()]

    def gaps(self) -> list[list[Any]]:
        return [
            [g.question, g.count, g.last_asked, round(g.similarity, 3)] for g in self.journal.gaps()
        ]

    def export(self) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        out = self.settings.home / "exports" / f"feedback-cases-{stamp}.jsonl"
        content.export_feedback(self.journal, out)
        return str(out)


def admin_app(admin: Admin) -> gr.Blocks:
    """The content team's page (mounted behind a login)."""

    def guarded(fn: Any) -> Any:
        """The handler behind a login check, with errors as friendly messages."""

        def call(*args: Any) -> Any:
            try:
                return fn(*args)
            except KapbotError as exc:
                raise gr.Error(str(exc)) from None
            except Exception:
                log.exception("admin action failed")
                raise gr.Error("That did not work; the server log has the details.") from None

        if inspect.signature(fn).parameters:

            def run_with(value: Any, request: gr.Request) -> Any:
                admin.check(request)
                return call(value)

            return run_with

        def run(request: gr.Request) -> Any:
            admin.check(request)
            return call()

        return run

    doc_columns = ["source", "title", "chunks", "added", "lint warnings"]
    demo = gr.Blocks(title="kapbot admin")
    with demo:
        gr.Markdown("## kapbot admin: the clinic's documents")
        with gr.Tab("Documents"):
            docs = gr.Dataframe(headers=doc_columns, interactive=False, elem_id="admin-docs")
            model = gr.Markdown(elem_id="admin-model")
            refresh = gr.Button("Refresh")
            with gr.Row():
                choice = gr.Dropdown(
                    label="Document to remove", choices=[], elem_id="admin-remove-choice"
                )
                remove_btn = gr.Button("Remove document", variant="stop", elem_id="admin-remove")
            remove_out = gr.Textbox(
                label="Result", lines=3, interactive=False, elem_id="admin-remove-out"
            )
        with gr.Tab("Upload"):
            files = gr.File(
                label="Documents (.md, .txt, .html, .pdf)",
                file_count="multiple",
                file_types=[".md", ".markdown", ".txt", ".html", ".htm", ".pdf"],
                elem_id="admin-files",
            )
            upload_btn = gr.Button("Upload and index", variant="primary", elem_id="admin-upload")
            upload_out = gr.Textbox(
                label="Result", lines=6, interactive=False, elem_id="admin-upload-out"
            )
        with gr.Tab("Feedback"):
            fb = gr.Dataframe(
                headers=["when", "rating", "question", "answer", "comment", "sources"],
                interactive=False,
                wrap=True,
                elem_id="admin-feedback",
            )
            fb_refresh = gr.Button("Refresh")
            export_btn = gr.Button("Export feedback as evaluation cases")
            export_file = gr.File(label="Evaluation cases (JSON Lines)", interactive=False)
        with gr.Tab("Call backs"):
            gr.Markdown(
                "Patients who asked for a person to call or write back (nothing of their "
                "conversation is kept with it). Mark each one done once dealt with."
            )
            callbacks = gr.Dataframe(
                headers=["number", "asked", "first name", "phone or e-mail", "best time", "done"],
                interactive=False,
                elem_id="admin-callbacks",
            )
            with gr.Row():
                done_id = gr.Number(label="Request number", precision=0, elem_id="admin-cb-id")
                done_btn = gr.Button("Mark done", elem_id="admin-cb-done")
            done_out = gr.Markdown(elem_id="admin-cb-out")
            callbacks_refresh = gr.Button("Refresh")
        with gr.Tab("Crisis replies"):
            gr.Markdown(
                "How many times the crisis reply was shown each day (UTC). Only the count "
                "is kept: nothing of the messages. See docs/crisis-protocol.md."
            )
            crisis_days = gr.Dataframe(
                headers=["day", "crisis replies"],
                interactive=False,
                elem_id="admin-crisis-days",
            )
            crisis_refresh = gr.Button("Refresh")
        with gr.Tab("Content gaps"):
            gaps = gr.Dataframe(
                headers=["question", "times asked", "last asked", "best similarity"],
                interactive=False,
                wrap=True,
                elem_id="admin-gaps",
            )
            gaps_refresh = gr.Button("Refresh")

        def doc_view() -> tuple[Any, Any, str]:
            rows = admin.documents()
            return rows, gr.update(choices=[r[0] for r in rows], value=None), admin.model_status()

        private: dict[str, Any] = {"api_visibility": "private", "concurrency_limit": 1}
        load_docs = guarded(doc_view)
        demo.load(load_docs, None, [docs, choice, model], **private)
        refresh.click(load_docs, None, [docs, choice, model], **private)
        remove_btn.click(guarded(admin.remove), [choice], [remove_out], **private).then(
            load_docs, None, [docs, choice, model], **private
        )
        upload_btn.click(guarded(admin.upload), [files], [upload_out], **private).then(
            load_docs, None, [docs, choice, model], **private
        )
        load_fb = guarded(admin.feedback)
        demo.load(load_fb, None, [fb], **private)
        fb_refresh.click(load_fb, None, [fb], **private)
        export_btn.click(guarded(admin.export), None, [export_file], **private)
        load_callbacks = guarded(admin.callbacks)
        demo.load(load_callbacks, None, [callbacks], **private)
        callbacks_refresh.click(load_callbacks, None, [callbacks], **private)
        done_btn.click(guarded(admin.mark_done), [done_id], [done_out], **private).then(
            load_callbacks, None, [callbacks], **private
        )
        load_crisis = guarded(admin.crisis_days)
        demo.load(load_crisis, None, [crisis_days], **private)
        crisis_refresh.click(load_crisis, None, [crisis_days], **private)
        load_gaps = guarded(admin.gaps)
        demo.load(load_gaps, None, [gaps], **private)
        gaps_refresh.click(load_gaps, None, [gaps], **private)
    demo.queue(default_concurrency_limit=1, max_size=20)
    return demo


DISABLED_ADMIN = (
    "<!doctype html><title>kapbot admin</title><h1>The admin page is disabled</h1>"
    "<p>Set <code>KAPBOT_ADMIN_PASSWORD</code> and restart <code>kapbot serve</code> to enable it.</p>"
)


def _guard_admin_login(app: FastAPI) -> None:
    """Wrong admin passwords are logged and, after a few from one address, that address is
    refused for a while (kapbot.login_guard)."""
    guard = LoginGuard()

    @app.middleware("http")
    async def admin_login(request: Request, call_next: Any) -> Any:
        if request.method != "POST" or request.url.path.rstrip("/") != "/admin/login":
            return await call_next(request)
        address = request.client.host if request.client else "unknown"
        if guard.locked(address, time.monotonic()):
            log.warning("admin login refused: %s is locked out after wrong passwords", address)
            return JSONResponse({"detail": "Too many wrong passwords; try later."}, 429)
        response = await call_next(request)
        if response.status_code == 200:
            guard.succeeded(address)
        elif guard.failed(address, time.monotonic()):
            log.warning("admin login: wrong passwords from %s; locked out for a while", address)
        else:
            log.warning("admin login: wrong password from %s", address)
        return response


def create_app(bot: Bot, settings: Settings, fitting: BackgroundFit | None = None) -> FastAPI:
    """The FastAPI server with the patient chat at ``/`` and the admin page at ``/admin``
    (which says how far ``fitting``, the background fitting of the model, has got)."""
    journal = Journal(settings.journal_db, settings.retention_days)
    journal.purge()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    # Teal 700 under white text: 5.5:1, where the theme's teal 500 gives 2.5:1 (WCAG AA: 4.5).
    theme = gr.themes.Soft(primary_hue="teal", neutral_hue="slate").set(
        button_primary_background_fill="#0f766e",
        button_primary_background_fill_hover="#115e59",
        button_primary_text_color="#ffffff",
        # Labels: teal 800 on the theme's teal 100 (the theme's teal 500 gives 2.2:1).
        block_label_text_color="#115e59",
        block_title_text_color="#115e59",
        body_text_color_subdued="#475569",  # slate 600 (the theme's slate 400: 2.6:1)
    )
    common: dict[str, Any] = {
        "show_error": False,
        "ssr_mode": False,
        "mcp_server": False,
        "footer_links": [],
        "theme": theme,
        "css": CSS,
    }
    patient: dict[str, Any] = {**common, "js": PATIENT_JS}
    admin_page: dict[str, Any] = {**common, "js": ADMIN_JS}

    # No API schema (the API docs are off), and /admin answers as /admin/ does.
    @app.get("/openapi.json", include_in_schema=False)
    def no_schema() -> Response:
        return Response(status_code=404)

    @app.get("/admin", include_in_schema=False)
    def admin_slash() -> RedirectResponse:
        return RedirectResponse("/admin/")

    if settings.admin_password:
        password = settings.admin_password
        _guard_admin_login(app)
        app = gr.mount_gradio_app(
            app,
            admin_app(Admin(bot, journal, settings, fitting)),
            path="/admin",
            auth=lambda user, given: same_secret(user, ADMIN_USER) & same_secret(given, password),
            auth_message="kapbot admin: user <b>admin</b> and the password from KAPBOT_ADMIN_PASSWORD.",
            **admin_page,
        )
    else:

        @app.get("/admin/{rest:path}", response_class=HTMLResponse)
        def admin_disabled(rest: str = "") -> HTMLResponse:
            return HTMLResponse(DISABLED_ADMIN, status_code=404)

    mounted: FastAPI = gr.mount_gradio_app(
        app,
        patient_app(PatientChat(bot, journal, Handoff(journal, settings)), settings),
        path="/",
        **patient,
    )
    return mounted


def serve(
    bot: Bot, settings: Settings, host: str, port: int, fitting: BackgroundFit | None = None
) -> None:
    """Run the web app until interrupted."""
    import uvicorn

    app = create_app(bot, settings, fitting)
    where = f"http://{host}:{port}/"
    admin = f"{where}admin/" if settings.admin_password else "disabled (set KAPBOT_ADMIN_PASSWORD)"
    log.warning("kapbot is serving the patient chat at %s; admin page: %s", where, admin)
    print(f"kapbot chat: {where}\nadmin page: {admin}", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
