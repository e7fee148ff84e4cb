"""Reading a citizen's answers to the report form: cancel, vague or specific, a question, a correction, a choice,
a phone number, "I don't know". Pure functions on text; the form (bot/actions/report_form.py) decides with them."""

import re
from typing import Optional

# A whole message that stops the report (after trimming punctuation and spaces).
_CANCEL = re.compile(r"^(取消|取消吧|取消上报|取消反映|算了|算了吧|算了算了|不报了|不反映了|不用报了|不提交了|不要了"
                     r"|不说了"
                     r"|cancel|cancel it|cancel that|cancel the report|cancel my report|never ?mind|forget it"
                     r"|stop|don'?t submit( it)?|i changed my mind)$", re.IGNORECASE)
_TRIM = re.compile(r"^[\s,.!?;:，。！？；：、~…]+|[\s,.!?;:，。！？；：、~…]+$")

# Words that say "I want to report something" without saying what: what is left without them must say something.
_GENERIC = re.compile(r"我要|我想|想要|要|我|你好|您好|请问|麻烦|帮我|帮忙|一下|反映|反应|投诉|举报|报告|上报|提交"
                      r"|建议|求助"
                      r"|有个|有一个|一个|个|问题|情况|事情|事|这里|这边|这个|的|了|吗|呢|啊|吧"
                      r"|\b(i|i'd|i'm|want|would|like|to|need|report|a|an|the|problem|issue|complaint|complain|make|file"
                      r"|something|there|is|s|hello|hi|please|can|you|help|me|about|have|got|lodge|suggestion)\b",
                      re.IGNORECASE)
_MEANINGFUL_ZH = re.compile(r"[\u3400-\u9fff]")
_MEANINGFUL_EN = re.compile(r"[A-Za-z]{2,}")
MIN_SPECIFIC_ZH = 3      # Chinese characters left after the generic words
MIN_SPECIFIC_EN = 2      # English words left

_QUESTION = re.compile(r"怎么|如何|怎样|哪里办|在哪办|去哪|多少钱|多久|要带|什么材料|吗[？?]?$|[？?]"
                       r"|^(how|what|where|when|which|can|could|do|does|is|are)\b", re.IGNORECASE)

_UNKNOWN = re.compile(r"不知道|不清楚|不记得|记不清|说不清|说不好|不确定|忘了|\b(don'?t|do not) know\b|\bnot sure\b"
                      r"|\bno idea\b|\bcan'?t remember\b|\bunknown\b|\bunsure\b", re.IGNORECASE)

# Corrections said mid-form: "地址说错了，是人民路5号", "the address is wrong, it's 5 Renmin Road".
_CORRECTIONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("wo_address", re.compile(r"(地址|地点|位置)(说错了|写错了|错了|不对|有误)?[，,。:：\s]*"
                              r"(应该是|改成|改为|换成|是在|是|在)\s*(?P<value>\S.*)")),
    ("wo_address", re.compile(r"\b(address|location)\b[^,.:;]*?\b(wrong|should be|is actually|change it to)\b"
                              r"[\s,.:;-]*((it'?s|it is|should be|to|actually)\s+)?(at\s+)?(?P<value>\S.*)",
                              re.IGNORECASE)),
    ("wo_since", re.compile(r"(时间|开始时间|什么时候)(说错了|错了|不对|有误)?[，,。:：\s]*(应该是|改成|改为|是)\s*"
                            r"(?P<value>\S.*)")),
    ("wo_since", re.compile(r"\b(time|date|since)\b[^,.:;]*?\b(wrong|should be|is actually)\b"
                            r"[\s,.:;-]*((it'?s|it is|should be|actually)\s+)?(?P<value>\S.*)", re.IGNORECASE)),
)

_CONTACT_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("none", re.compile(r"不用|不需要|不要|别联系|不必|匿名|\bno\b|\bnot?\b.*\bcontact\b|\bdon'?t\b|\bnope\b"
                        r"|\banonymous\b", re.IGNORECASE)),
    ("phone", re.compile(r"电话|手机|打给我|致电|\bphone\b|\bcall\b|\bmobile\b", re.IGNORECASE)),
    ("chat", re.compile(r"这里|本对话|聊天|对话|在线|消息|可以|行|好的|\bchat\b|\bhere\b|\bmessage\b|\byes\b|\bok\b"
                        r"|\bsure\b", re.IGNORECASE)),
)
_REVIEW_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("change", re.compile(r"修改|改一下|改|不对|有错|\bchange\b|\bedit\b|\bwrong\b|\bfix\b", re.IGNORECASE)),
    ("submit", re.compile(r"提交|确认|没问题|对的|是的|可以|好的|好|行|\bsubmit\b|\byes\b|\bok(ay)?\b|\bconfirm\b"
                          r"|\bcorrect\b|\bsend\b|\bright\b|\bsure\b", re.IGNORECASE)),
)
FIELDS = ("description", "address", "since", "contact")
_FIELD_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("address", re.compile(r"^2$|地址|地点|位置|哪里|\baddress\b|\bwhere\b|\blocation\b|\bplace\b", re.IGNORECASE)),
    ("since", re.compile(r"^3$|时间|什么时候|多久|\bsince\b|\btime\b|\bwhen\b|\bdate\b", re.IGNORECASE)),
    ("contact", re.compile(r"^4$|联系|电话|\bcontact\b|\bphone\b", re.IGNORECASE)),
    ("description", re.compile(r"^1$|问题|事情|情况|描述|内容|发生|\bwhat happened\b|\bdescription\b|\bproblem\b"
                               r"|\bissue\b", re.IGNORECASE)),
)

# A phone number as it reaches Rasa: the gateway masks personal numbers (core.privacy.mask), so "*******5678",
# "138****5678", "***-****-5678", "+86 *******5678" and a clear number are all fine.
_PHONE_CHARS = re.compile(r"^[0-9*＊+\-\s()（）]+$")
PHONE_MIN_DIGITS, PHONE_MAX_DIGITS = 7, 15   # digits and masked digits, country code included
PHONE_MIN_CLEAR = 3                         # digits left readable (a mask keeps the last 4)


def trimmed(text: str) -> str:
    """The text without spaces and punctuation at either end."""
    return _TRIM.sub("", text or "")


def is_cancel(text: str) -> bool:
    """Whether the whole message says to stop the report ("取消", "算了", "不报了", "cancel", "never mind")."""
    return bool(_CANCEL.match(trimmed(text)))


def is_specific(text: str) -> bool:
    """Whether a report says what happened ("我家楼下路灯坏了三天了"), not only that there is something to report
    ("我要反映问题", "I want to report a problem")."""
    rest = _GENERIC.sub(" ", text or "")
    return (len(_MEANINGFUL_ZH.findall(rest)) >= MIN_SPECIFIC_ZH
            or len(_MEANINGFUL_EN.findall(rest)) >= MIN_SPECIFIC_EN)


def looks_like_question(text: str) -> bool:
    """Whether the message is worded as a question ("怎么补办身份证", "how do I …?")."""
    return (text or "").rstrip().endswith(("?", "？")) or bool(_QUESTION.search(trimmed(text)))


def is_unknown(text: str) -> bool:
    """Whether the answer says the citizen does not know ("不知道", "not sure")."""
    return bool(_UNKNOWN.search(text or ""))


def correction(text: str) -> Optional[tuple[str, str]]:
    """(slot, new value) when the message corrects an earlier answer ("地址说错了，是人民路5号"), else None."""
    for slot, pattern in _CORRECTIONS:
        found = pattern.search(text or "")
        if found:
            value = trimmed(found.group("value"))
            if value:
                return slot, value
    return None


def _first(words: tuple[tuple[str, re.Pattern[str]], ...], text: str) -> Optional[str]:
    return next((name for name, pattern in words if pattern.search(text or "")), None)


def contact_choice(text: str) -> Optional[str]:
    """The contact method an answer chooses: "chat", "phone" or "none" (no contact), else None."""
    return _first(_CONTACT_WORDS, text)


def review_choice(text: str) -> Optional[str]:
    """What an answer to the read-back says: "submit" or "change", else None."""
    return _first(_REVIEW_WORDS, text)


def field_named(text: str) -> Optional[str]:
    """The field an answer names to change: description, address, since or contact (or its number 1-4)."""
    return _first(_FIELD_WORDS, trimmed(text))


def phone_shape(text: str) -> bool:
    """Whether the text is shaped like a phone number, masked or not: digits and "*" (with +, -, spaces,
    brackets) of a plausible length, some digits readable."""
    value = (text or "").strip()
    if not _PHONE_CHARS.match(value):
        return False
    digits = sum(char.isdigit() for char in value)
    masked = sum(char in "*＊" for char in value)
    return PHONE_MIN_DIGITS <= digits + masked <= PHONE_MAX_DIGITS and digits >= PHONE_MIN_CLEAR


def phone_in(text: str) -> Optional[str]:
    """A phone number (masked or not) said on its own or inside a short answer ("打这个 *******5678"), else None."""
    for candidate in re.findall(r"[0-9*＊+(（][0-9*＊+\-\s()（）]{5,}[0-9*＊]", text or ""):
        if phone_shape(candidate):
            return candidate.strip()
    return None
