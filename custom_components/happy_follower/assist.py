"""Answers from Assist's built-in agent, without a language model, in English and Persian.

Three questions: the credit, the last order's status, the spend of the last 24 hours.
Their sentences are sentence triggers of the default agent (its agent manager's
``register_trigger``, what the ``conversation`` trigger of automations uses): they need no
YAML from the user, take priority over the built-in intents, and are matched whatever
the pipeline's language. Each language's sentences are triggers of their own, so the
answer is in the language of the sentence that matched.

The sentences are registered once the ``conversation`` integration is set up (at once if
it already is): its requirements (hassil) are installed only when it loads, so nothing of
it is imported before, and Happy Follower loads with or without Assist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.translation import async_get_translations
from homeassistant.setup import async_when_setup

from shared_client.errors import HappyFollowerError

from .const import DOMAIN, LOGGER
from .coordinator import HappyFollowerConfigEntry, status_key
from .texts import Language
from .texts import amount as _amount
from .texts import isolated as _isolated
from .texts import localized as _localized
from .texts import number as _number

if TYPE_CHECKING:
    from hassil.recognize import RecognizeResult
    from homeassistant.components.conversation import ConversationInput

    from shared_client.models import OrderStatus

CONVERSATION = "conversation"
# The last placed order is looked for among this many newest attempts: failed ones and
# those of unknown outcome have no order id.
LEDGER_LOOKBACK = 100


class Question(StrEnum):
    """What Assist can be asked."""

    CREDIT = "credit"
    LAST_ORDER = "last_order"
    SPENT = "spent"


# --- sentences ---------------------------------------------------------------------------
# hassil templates: (a|b) one of, [a] optional. Built from shared pieces so that every
# sentence of a question accepts the same spellings.

_NAME_EN = "(happy follower|happy followers|happyfollower|happy-follower)"
_WHAT_IS = "(what is|what's|whats)"
_CREDIT_EN = "(credit|balance)"
_LAST_EN = "(last|latest|most recent|newest)"
_HOURS_EN = "(24|twenty four|twenty-four)"
_WHEN_EN = f"(today|(in|over|during) the (last|past) {_HOURS_EN} hours|in the (last|past) day)"

_SENTENCES_EN: dict[Question, list[str]] = {
    Question.CREDIT: [
        f"[{_WHAT_IS}|tell me|check|show [me]] [my|the] {_NAME_EN} [account] {_CREDIT_EN}",
        f"{_WHAT_IS} [the|my] {_CREDIT_EN} (on|of|in|at) [my] {_NAME_EN} [account]",
        f"how much is [my|the] {_NAME_EN} [account] {_CREDIT_EN}",
        f"how much {_CREDIT_EN} do I have [left] (on|in|at|with) {_NAME_EN} [account]",
        f"how much (credit|balance|money) is [left|there] (on|in) [my] {_NAME_EN} [account]",
    ],
    Question.LAST_ORDER: [
        f"{_WHAT_IS} [the] status of [my|the] {_LAST_EN} {_NAME_EN} order",
        f"{_WHAT_IS} [the] status of [my|the] {_LAST_EN} order (on|in|at|with|from) {_NAME_EN}",
        f"{_WHAT_IS} [my|the] {_LAST_EN} {_NAME_EN} order['s] status",
        f"(how is|how's|hows) [my|the] {_LAST_EN} {_NAME_EN} order [doing|going|coming along]",
        f"(check|show [me]) [the status of] [my|the] {_LAST_EN} {_NAME_EN} order [status]",
        f"(where is|where's) [my|the] {_LAST_EN} {_NAME_EN} order",
        f"(is|has) [my|the] {_LAST_EN} {_NAME_EN} order (done|finished|complete|completed)",
        f"{_NAME_EN} {_LAST_EN} order [status]",
    ],
    Question.SPENT: [
        f"how much [money|credit] (did I spend|have I spent|did I use|have I used) "
        f"(on|with|at) {_NAME_EN} [{_WHEN_EN}]",
        f"how much [money|credit] (did I spend|have I spent) {_WHEN_EN} (on|with|at) {_NAME_EN}",
        f"what (did I spend|have I spent) (on|with|at) {_NAME_EN} [{_WHEN_EN}]",
        f"how much has {_NAME_EN} cost me [{_WHEN_EN}]",
        f"[({_WHAT_IS}|show [me]) [my|the]] {_NAME_EN} (spending|spend|expenses) [{_WHEN_EN}]",
    ],
}

# Persian as people say and type it: informal and formal, with or without the app's name
# (in Persian or Latin letters), with a zero-width non-joiner, a space or nothing between
# a word and its suffix.
_NAMES_FA = ("هپی فالوور", "هپی‌فالوور", "هپیفالوور", "هپی فالور", "هپی فالوئر")
_NAMES_LATIN = ("happy follower", "happyfollower")
# The name, or "my" name (هپی فالوورم).
_NAME_FA = "({})".format("|".join((*_NAMES_FA, *(f"{n}م" for n in _NAMES_FA), *_NAMES_LATIN)))
_IN_FA = "(تو|توی|در|داخل|روی|رو)"
_HOW_MUCH_FA = "(چقدر|چقد|چه قدر|چه‌قدر|چند|چند تومن|چند تومان)"
_IS_HOW_MUCH_FA = (
    "(چقدره|چقدر است|چقدر هست|چقدر|چقده|چقد|چقدر شده|چقدر شده است|چه قدره|چه قدر است|"
    "چه‌قدره|چه‌قدر است|چنده|چند است|چند هست|چقدر مونده|چقدر مانده|چقدر باقی مانده|"
    "چقدر باقی‌مانده)"
)
# "شارژ" is a battery's charge too: only with the app's name.
_CREDIT_FA = "(اعتبار|موجودی|شارژ)"
_CREDIT_ANY_FA = "(اعتبار|موجودی)"
_MY_CREDIT_FA = "(اعتبارم|اعتبار من|موجودیم|موجودی‌ام|موجودی ام|موجودی من)"
_LEFT_FA = "(دارم|داریم|هست|است|مونده|مانده|باقی مانده|باقی‌مانده|داره|دارد)"
_TELL_FA = "(رو|را) (بگو|بهم بگو|به من بگو|اعلام کن|نشون بده|نشان بده|چک کن)"
_LAST_FA = "(آخرین سفارش|سفارش آخر)"
_ORDER_FA = f"({_LAST_FA} {_NAME_FA} [من]|{_LAST_FA}[م] [من] [{_IN_FA} {_NAME_FA}])"
_HOW_IS_FA = (
    f"(چیه|چی هست|چیست|چطوره|چطور است|چجوریه|چه جوریه|چه طوره|چی شد|چی شده|چه شد|چه شده|{_TELL_FA})"
)
_WHERE_FA = (
    "(به کجا رسید|به کجا رسیده|به کجا رسیده است|کجا رسید|کجا رسیده|کجاست|چی شد|چی شده|"
    "چه شد|چه شده|چه شده است|(در|تو) چه وضعیتی است|(در|تو) چه وضعیتیه|چه وضعیتی داره|"
    "چه وضعیتی دارد|(در|تو) چه حالی است|(در|تو) چه حالیه|(در|تو) چه مرحله‌ای است|"
    "(در|تو) چه مرحله‌ایه|(در|تو) چه مرحله ای است|چطوره|چطور است|تموم شد|تموم شده|تمام شد|"
    "تمام شده|تمام شده است|انجام شد|انجام شده|کامل شد|کامل شده)"
)
_HOURS_FA = "(۲۴|24|٢٤|بیست و چهار|بیست‌وچهار)"
_WHEN_FA = (
    f"(امروز|[(تو|توی|در|طی|ظرف)] {_HOURS_FA} ساعت (گذشته|اخیر)|"
    "[(تو|توی|در|طی|ظرف)] (یک|یه) روز (گذشته|اخیر)|از دیروز تا (حالا|الان|امروز))"
)
_FOR_FA = f"[(برای|تو|توی|در|روی|رو|سر|بابت)] {_NAME_FA}"
_SPEND_FA = (
    "(خرج کردم|خرج کردیم|خرج کرده‌ام|خرج کرده ام|هزینه کردم|هزینه کردیم|هزینه کرده‌ام|"
    "هزینه کرده ام|پول دادم|پرداخت کردم|پرداخت کرده‌ام|مصرف کردم|مصرف کرده‌ام|خرج شده|"
    "خرجم شده|هزینه شده|مصرف شده)"
)
_MONEY_FA = "[(پول|اعتبار|تومن|تومان)]"
_SPENDING_FA = (
    "(خرج|خرجم|خرج من|خرجای|خرج‌های|خرج های|هزینه|هزینه‌ها|هزینه ها|هزینه‌های|هزینه های|"
    "هزینه‌ی|هزینه ی|مخارج)"
)
_WHEN_NOUN_FA = f"(امروز|امروزم|امروز من|{_HOURS_FA} ساعت (گذشته|اخیر)[م])"

_SENTENCES_FA: dict[Question, list[str]] = {
    Question.CREDIT: [
        f"[میزان] {_CREDIT_FA} [حساب] {_NAME_FA} [من] {_IS_HOW_MUCH_FA}",
        f"[میزان] ({_MY_CREDIT_FA}|{_CREDIT_ANY_FA} (حسابم|حساب من)) [{_IN_FA} {_NAME_FA}] "
        f"{_IS_HOW_MUCH_FA}",
        f"[الان] [{_IN_FA}] {_NAME_FA} {_HOW_MUCH_FA} {_CREDIT_FA} {_LEFT_FA}",
        f"[الان] {_HOW_MUCH_FA} {_CREDIT_ANY_FA} [{_IN_FA} {_NAME_FA}] {_LEFT_FA}",
        f"{_HOW_MUCH_FA} {_CREDIT_FA} {_IN_FA} {_NAME_FA} {_LEFT_FA}",
        f"{_CREDIT_FA} [حساب] {_NAME_FA} [من] [{_TELL_FA}]",
        f"{_MY_CREDIT_FA} [{_IN_FA} {_NAME_FA}] {_TELL_FA}",
    ],
    Question.LAST_ORDER: [
        f"وضعیت {_ORDER_FA} [{_HOW_IS_FA}]",
        f"{_ORDER_FA} {_WHERE_FA}",
    ],
    Question.SPENT: [
        f"{_WHEN_FA} [{_FOR_FA}] {_HOW_MUCH_FA} {_MONEY_FA} [{_FOR_FA}] {_SPEND_FA}",
        f"{_FOR_FA} [{_WHEN_FA}] {_HOW_MUCH_FA} {_MONEY_FA} {_SPEND_FA} [{_WHEN_FA}]",
        f"{_HOW_MUCH_FA} {_MONEY_FA} {_FOR_FA} {_SPEND_FA} [{_WHEN_FA}]",
        f"{_HOW_MUCH_FA} {_MONEY_FA} {_SPEND_FA} {_WHEN_FA}",
        f"{_HOW_MUCH_FA} {_MONEY_FA} {_WHEN_FA} [{_FOR_FA}] {_SPEND_FA}",
        f"[میزان] {_SPENDING_FA} [{_NAME_FA}] {_WHEN_NOUN_FA} [{_NAME_FA}] [من] {_IS_HOW_MUCH_FA}",
    ],
}

# Keyboards with an Arabic layout type ي and ك for ی and ک: each sentence in both.
_ARABIC_LETTERS = str.maketrans({"ی": "ي", "ک": "ك"})


def _with_arabic_letters(sentences: list[str]) -> list[str]:
    return [*sentences, *(s.translate(_ARABIC_LETTERS) for s in sentences)]


SENTENCES: dict[Language, dict[Question, list[str]]] = {
    "en": _SENTENCES_EN,
    "fa": {question: _with_arabic_letters(items) for question, items in _SENTENCES_FA.items()},
}

# --- answers -----------------------------------------------------------------------------

_TEXTS: dict[Language, dict[str, str]] = {
    "en": {
        "not_loaded": "Happy Follower is not set up, or its account is not loaded right now.",
        "credit": "Your Happy Follower credit is {amount}.",
        "credit_stale": "Happy Follower did not answer; the last credit read was {amount}.",
        "credit_unreadable": "Happy Follower did not answer about your credit.",
        "no_order": "No Happy Follower order has been placed yet.",
        "order": "Your last Happy Follower order, number {order}{service}: {status}, "
        "{progress} delivered.",
        "order_unreadable": "Your last Happy Follower order is number {order}, but Happy "
        "Follower did not answer about its status.",
        "ledger_unreadable": "The record of Happy Follower orders could not be read.",
        "spent_nothing": "In the last 24 hours you placed no Happy Follower orders.",
        "spent": "In the last 24 hours you placed {orders} and spent {amount} on Happy "
        "Follower{reserved}{unbounded}.",
        "order_count": "{count} order",
        "orders_count": "{count} orders",
        "reserved": ", plus up to {amount} reserved for orders whose cost is not known yet",
        "unbounded": "; the cost of {count} of them is not known yet",
    },
    "fa": {
        "not_loaded": "هپی فالوور راه‌اندازی نشده یا حسابش الان در دسترس نیست.",
        "credit": "اعتبار هپی فالوور شما {amount} است.",
        "credit_stale": "هپی فالوور پاسخ نداد؛ آخرین اعتبار خوانده‌شده {amount} بود.",
        "credit_unreadable": "هپی فالوور درباره اعتبار شما پاسخی نداد.",
        "no_order": "هنوز سفارشی در هپی فالوور ثبت نشده است.",
        "order": "آخرین سفارش هپی فالوور شما، شماره {order}{service}: {status}، "
        "{progress} تحویل شده.",
        "order_unreadable": "آخرین سفارش هپی فالوور شما شماره {order} است، اما هپی فالوور "
        "درباره وضعیتش پاسخی نداد.",
        "ledger_unreadable": "دفتر سفارش‌های هپی فالوور خوانده نشد.",
        "spent_nothing": "در ۲۴ ساعت گذشته سفارشی در هپی فالوور ثبت نکرده‌اید.",
        "spent": "در ۲۴ ساعت گذشته {orders} در هپی فالوور ثبت و {amount} خرج "
        "کرده‌اید{reserved}{unbounded}.",
        "order_count": "{count} سفارش",
        "orders_count": "{count} سفارش",
        "reserved": "، به‌علاوهٔ تا سقف {amount} برای سفارش‌هایی که هزینه‌شان هنوز معلوم نیست",
        "unbounded": "؛ هزینهٔ {count} سفارش هنوز معلوم نیست",
    },
}

_STATUS_KEY = f"component.{DOMAIN}.entity.sensor.order_status.state."


def _loaded_entries(hass: HomeAssistant) -> list[HappyFollowerConfigEntry]:
    entries: list[HappyFollowerConfigEntry] = [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED
    ]
    return sorted(entries, key=lambda entry: entry.title.casefold())


type _Answer = Callable[[HomeAssistant, HappyFollowerConfigEntry, Language], Awaitable[str]]


async def _credit(hass: HomeAssistant, entry: HappyFollowerConfigEntry, language: Language) -> str:
    texts = _TEXTS[language]
    coordinator = entry.runtime_data.credit
    # Read now (a top-up shows at once); the coordinator handles failures (reauth, logs)
    # and keeps its last value.
    await coordinator.async_refresh()
    credit: float | None = coordinator.data
    if credit is None:
        return texts["credit_unreadable"]
    key = "credit" if coordinator.last_update_success else "credit_stale"
    return texts[key].format(amount=_amount(credit, entry, language))


async def _last_order(
    hass: HomeAssistant, entry: HappyFollowerConfigEntry, language: Language
) -> str:
    texts = _TEXTS[language]
    data = entry.runtime_data
    try:
        # The whole ledger, its archive too: the last order may be days old.
        attempts = await data.guard.history(LEDGER_LOOKBACK)
    except HappyFollowerError as err:
        LOGGER.warning("Assist could not read the Happy Follower ledger: %s", err)
        return texts["ledger_unreadable"]
    order_id = next((item.order_id for item in attempts if item.order_id is not None), None)
    if order_id is None:
        return texts["no_order"]
    number = _localized(str(order_id), language)
    tracked = data.store.orders.get(order_id)
    status = tracked.status if tracked is not None else None
    if status is None:
        try:
            status = await data.orders.async_refresh_order(order_id)
        except HappyFollowerError as err:
            LOGGER.warning("Assist could not read the status of order %s: %s", order_id, err)
            return texts["order_unreadable"].format(order=number)
    service_name = tracked.service_name if tracked is not None else None
    return texts["order"].format(
        order=number,
        service=f" ({_isolated(service_name)})" if service_name else "",
        status=await _status_words(hass, status, language),
        progress=_localized(f"{_number(status.progress, 'en', 1)}%", language),
    )


async def _status_words(hass: HomeAssistant, status: OrderStatus, language: Language) -> str:
    """The status sensor's own word for a known status; the vendor's title for another."""
    words = await async_get_translations(hass, language, "entity", [DOMAIN])
    word = words.get(_STATUS_KEY + status_key(status.status))
    if word is None:
        return _isolated(status.status_title or status.status)
    return word.lower() if language == "en" else word


async def _spent(hass: HomeAssistant, entry: HappyFollowerConfigEntry, language: Language) -> str:
    texts = _TEXTS[language]
    guard = entry.runtime_data.guard
    try:
        await guard.refresh()  # other processes (the CLI, the MCP server) may have spent
    except HappyFollowerError as err:
        LOGGER.warning("Assist could not read the Happy Follower ledger: %s", err)
        return texts["ledger_unreadable"]
    usage = guard.usage()
    if not usage.orders:
        return texts["spent_nothing"]
    count = texts["order_count" if usage.orders == 1 else "orders_count"]
    reserved = unbounded = ""
    if usage.reserved > 0:
        reserved = texts["reserved"].format(amount=_amount(usage.reserved, entry, language))
    if usage.unbounded:
        unbounded = texts["unbounded"].format(count=_localized(str(usage.unbounded), language))
    return texts["spent"].format(
        orders=count.format(count=_localized(str(usage.orders), language)),
        amount=_amount(usage.spent, entry, language),
        reserved=reserved,
        unbounded=unbounded,
    )


_ANSWERS: dict[Question, _Answer] = {
    Question.CREDIT: _credit,
    Question.LAST_ORDER: _last_order,
    Question.SPENT: _spent,
}


async def async_answer(hass: HomeAssistant, question: Question, language: Language) -> str:
    """The spoken answer: for the one loaded account, or for each one by its title."""
    entries = _loaded_entries(hass)
    if not entries:
        return _TEXTS[language]["not_loaded"]
    answer = _ANSWERS[question]
    if len(entries) == 1:
        return await answer(hass, entries[0], language)
    return " ".join(
        [f"{_isolated(entry.title)}: {await answer(hass, entry, language)}" for entry in entries]
    )


def _trigger_callback(
    hass: HomeAssistant, question: Question, language: Language
) -> Callable[[ConversationInput, RecognizeResult], Awaitable[str | None]]:
    async def respond(user_input: ConversationInput, result: RecognizeResult) -> str | None:
        return await async_answer(hass, question, language)

    return respond


async def _async_register(hass: HomeAssistant, component: str) -> None:
    # Imported here: the conversation integration (and its requirements) is loaded now.
    from homeassistant.components.conversation.agent_manager import (  # noqa: PLC0415
        get_agent_manager,
    )

    manager = get_agent_manager(hass)
    for language, questions in SENTENCES.items():
        for question, sentences in questions.items():
            manager.register_trigger(sentences, _trigger_callback(hass, question, language))


@callback
def async_setup_assist(hass: HomeAssistant) -> None:
    """Give Assist's built-in agent the questions, once for every entry, whenever the
    conversation integration is (or gets) set up."""
    async_when_setup(hass, CONVERSATION, _async_register)
