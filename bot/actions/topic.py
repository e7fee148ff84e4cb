"""What a question is about, in the asker's own words: the topic the not-found reply names.

"建筑施工许可证怎么办" is about "建筑施工许可证", "How do I get a Schengen visa?" about "Schengen visa". The
topic is what is left of the question clause after taking away greetings, politeness, the asker ("我们公司想"),
the question itself ("怎么办", "去哪里申请", "how do I", "what documents do I need") and a generic verb before
the thing asked for ("办", "申请", "get", "apply for"). It is only echoed when something sensible and short is
left, and never when it looks like personal data (a masked number, an e-mail address, a run of digits).
"""

import re
from typing import Callable, Optional

import jieba

from bot.actions.wording import subject_words
from core.language import detect_language

# The longest topic echoed, in characters: a longer one is said without its topic.
MAX_TOPIC_CHARS = {"zh": 24, "en": 60}

# How the not-found reply names the topic (bot/domain.yml, utter_cannot_answer_service: "{topic}"), and what it
# says when there is no topic to name.
_QUOTED = {"zh": "“{}”", "en": "\"{}\""}
_UNNAMED = {"zh": "您问的这项服务", "en": "the service you asked about"}

_HAN = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# What may be personal data even after the gateway's masking: masks, e-mail addresses, long digit runs.
_PERSONAL = re.compile(r"[*＊]|@|[0-9０-９]{6,}|[0-9０-９][0-9０-９ -]{6,}[0-9０-９]")
# Clause breaks: punctuation, line breaks, and spaces between Chinese characters (speech and typed pauses).
_CLAUSE_BREAK = re.compile(r"[，,。！!？?；;：:、\n\r…~～]+|(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")
_EN_SENTENCE_BREAK = re.compile(r"[.!?;\n\r]+(?:\s+|$)|,\s*(?=(?:and\s+|but\s+|so\s+)?(?:how|where|what|which|who|"
                                r"when|can|could|do|does|is|are|should|would)\b)", re.IGNORECASE)
# Quotes and brackets are taken out of a clause; a topic holding any other character than these is not echoed.
_DROPPED = re.compile(r"[\"“”‘`「」『』《》〈〉()（）\[\]{}<>【】]")
_ALLOWED = re.compile(r"^[\u3400-\u9fffA-Za-z0-9 '’&/·.\-]+$")

# --- Chinese ---------------------------------------------------------------------------------------------------
_ZH_QUESTION = re.compile(r"怎么|怎样|如何|哪里|哪儿|哪个|哪些|哪办|什么|啥|多少|多久|多长|能否|能不能|可不可以|"
                          r"可以吗|是否|有没有|吗|呢|么")
_ZH_SERVICE = re.compile(r"办|申请|考|领|开具|证|照|许可|执照|资格|登记|注册|备案|补贴|签证|手续|报名|认证|预约|缴|续|"
                         r"审批|公证|鉴定|核准|年检|年审")
# Said before the topic: greetings, politeness, the asker, wishes, question words, places, a generic verb.
_ZH_LEAD = re.compile(
    r"^(?:你好|您好|请问|麻烦(?:您|你)?(?:问(?:一下|下)?)?|打扰(?:一下|了|您了)?|劳驾|喂|嗯+|哦|噢|啊|哎|唉|呃|那个|"
    r"就是|这个|对了|还有|另外|然后|"
    r"同志|老师|工作人员|客服|小姐|先生|师傅|领导|"
    r"(?:我|我们|咱们|咱)?(?:想|要)?(?:问|咨询|了解|打听|请教|确认)(?:一下|下|问|一问|个事|件事)?|"
    r"我们公司|我们单位|我们家|我家里|我家|我们|咱们|本人|我司|本公司|"
    r"我(?![国省市区县校])|您|你|"
    r"想要|想|要|需要|打算|准备|计划|应该|必须|能不能|可不可以|能否|可以|是否|有没有|"
    r"(?:怎么样才能|怎么才能|怎么|如何才能|如何|怎样才能|怎样|去哪里|去哪儿|去哪|到哪里|到哪儿|到哪|在哪里|在哪儿|在哪|"
    r"哪里|哪儿)(?:才能|才可以|可以|能)?|"
    r"(?:在|去|到|从)?(?:网上|线上|手机上|网站上|APP上|app上)|在线|"
    r"关于|有关|问个|问下|不知道|不清楚|不太清楚|不太懂|不懂|想知道|知道|听说|听人说|据说)")
# Said after the topic: the question, what is asked about it, particles.
_ZH_TAIL = re.compile(
    r"(?:(?:应该|要|需要|得|可以|能)?(?:去|到|在)?(?:哪里|哪儿|哪|什么地方|哪个部门|哪个窗口|哪个单位)"
    r"(?:办理|申请|办|弄|交|领|开|考|问|咨询|处理)?|"
    r"(?:应该|要|需要|得|该)?(?:怎么|如何|怎样)(?:办理|申请|申办|办|弄|搞|整|处理|操作|做|报名|考|领|开|拿|获得|取得)?|"
    r"(?:是|需要|要|得|应该)?(?:带|准备|提交|交|提供|办理|办|申请|开)?(?:哪些|什么|啥)(?:材料|资料|证件|手续|东西|条件|证明)?|"
    r"(?:的|办理|申请|申办)(?:流程|步骤|手续|程序|办法|方法|条件|材料|资料|费用|时限|时间|要求|地点|指南)"
    r"(?:是什么|是啥|有哪些|是怎样的|是怎么样的|怎么样)?|"
    r"(?:流程|步骤|手续|程序|办法|方法|条件|材料|资料|费用|时限|要求|指南)"
    r"(?:是什么|是啥|有哪些|是怎样的|是怎么样的|怎么样)?|"
    r"怎么样|多少钱|收费吗|收不收费|要钱吗|要不要钱|费用多少|要多久|多久|多长时间|几天|"
    r"可以吗|能办吗|能不能办|可不可以办|可不可以|行不行|行吗|能否办理|能办理吗|能否|有没有|"
    r"(?:去|到|在|来|可以|能|能够|才能)(?:办理|申请|申办|办)|(?:怎么|如何|怎样)[\u3400-\u9fff]{0,2}|一下)$")
# Particles at the end, taken away only as words of their own (not the 吧 of 网吧).
_ZH_PARTICLES = {"吗", "呢", "啊", "呀", "吧", "么", "哈", "啦", "了", "的", "呐", "哇", "嘛", "哦", "一下", "是"}
# A word of the topic clause that is a generic verb: the topic is what follows it ("给我的狗办宠物护照").
_ZH_VERB_WORD = re.compile(r"^(?:想|要|去|来|能|可以)?(?:办理|申办|补办|申请|考取|领取|开具|办|考|领|开|弄|搞|拿|获得|"
                           r"取得)(?:一个|一张|一份|个|张|份)?$")
_ZH_VERB_PREFIX = re.compile(r"^(?:办理|申请|申办|补办|开具|领取)(?=[\u3400-\u9fff]{2})"
                             r"|^(?:开|办|考|领)(?=[个张份]|一[个张份]|无)")
# Words that ask rather than name: a topic holding one is no topic ("什么证").
_ZH_ASKING = re.compile(r"什么|怎么|哪|多少|啥|吗|呢|谁")
# A topic that names nothing in particular.
_ZH_VAGUE = {"事", "事情", "业务", "手续", "证", "证件", "东西", "问题", "这个", "那个", "这事", "这件事", "服务",
             "事项", "证明", "材料", "资料", "许可", "执照", "这个证", "那个证", "这个业务"}

# --- English ---------------------------------------------------------------------------------------------------
_EN_QUESTION = re.compile(r"\b(?:how|where|what|which|who|when|can|could|do|does|is|are|should|would|need|want|"
                          r"apply|get|register)\b|\?", re.IGNORECASE)
_EN_SERVICE = re.compile(r"licen[cs]e|permit|visa|certificat|regist|appl|card|pass|exam|insurance|benefit|allowance|"
                         r"subsid|pension|fund|tax|permission|approval|record|account", re.IGNORECASE)
_EN_LEAD = re.compile(
    r"^(?:(?:hi|hello|hey|dear|good\s+(?:morning|afternoon|evening)|excuse\s+me|sorry|please|ok|okay|so|well|um+|"
    r"uh+|er+|and|but|also|then|now|yes|thanks|thank\s+you|sir|madam)\b[\s,!.:]*|"
    r"(?:can|could|would|will)\s+you\s+(?:please\s+)?(?:tell\s+me|let\s+me\s+know|explain|help\s+me(?:\s+with)?|"
    r"show\s+me|advise(?:\s+me)?)(?:\s+(?:about|on|how|where|what))?\b\s*|"
    r"(?:i'?d|i\s+would|we'?d|we\s+would)\s+like\s+to\s+(?:know|ask|find\s+out|understand|learn)(?:\s+about)?\b\s*|"
    r"(?:i|we)\s+(?:want|wanted|need|needed|have|had)\s+to\s+(?:know|ask|find\s+out|understand|learn)"
    r"(?:\s+about)?\b\s*|"
    r"(?:i'?m|i\s+am|we'?re|we\s+are)\s+(?:trying|looking|hoping|planning|going)\s+to\b\s*|"
    r"(?:i'?m|i\s+am|we'?re|we\s+are)\s+(?:interested\s+in|asking\s+about|wondering\s+about)\b\s*|"
    r"(?:i|we)\s+(?:was|were|am|are)?\s*wondering\s+(?:about|if|whether|how)?\b\s*|"
    r"(?:how|where|when|what)\s+(?:do|does|can|could|should|would|will|must|shall|may|is|are)\s+"
    r"(?:i|we|you|one|someone|a\s+person|people|foreigners|my\s+\w+|our\s+\w+)\b\s*|"
    r"(?:how|where)\s+(?:to|and\s+how)\b\s*|"
    r"what\s+(?:do|does|should|must)\s+(?:i|we|you|one)\s+(?:need|have)\s+to(?:\s+(?:do|bring|prepare))?\b\s*|"
    r"what\s+(?:is|are)\s+(?:needed|required|the\s+(?:steps|requirements|procedures?|process|rules))"
    r"(?:\s+(?:to|for))?\b\s*|"
    r"what(?:'s|\s+is)\s+the\s+(?:process|procedure|way)\s+(?:to|for)\b\s*|"
    r"(?:is|are)\s+(?:it|there\s+a\s+way)\s+(?:possible\s+)?(?:to|for\s+(?:me|us)\s+to)\b\s*|"
    r"(?:is|are)\s+there\s+(?:a|any)\b\s*|"
    r"(?:the\s+)?(?:process|procedure|steps|requirements|rules)\s+(?:to|for)\b\s*|"
    r"(?:tell\s+me|information|info|a\s+question|questions?)\s+(?:about|on|regarding)\b\s*|"
    r"(?:about|regarding|concerning)\b\s*|"
    r"(?:i|we|my\s+\w+|our\s+\w+)\s+(?:want|wants|need|needs|would\s+like|'d\s+like|have|has)(?:\s+to)?\b\s*|"
    r"(?:i|we)(?:'d|\s+would)\s+like(?:\s+to)?\b\s*|"
    r"(?:go\s+about|be\s+able\s+to|need\s+to|have\s+to|to)\b\s*|"
    r"what\s+(?:documents|papers|materials|do\s+i\s+need|is\s+needed)(?:\s+(?:do|does|should|must)\s+(?:i|we|you|one)"
    r"\s+(?:need|bring|prepare|have))?(?:\s+(?:for|to))?\s+|"
    r"how\s+(?:much|long)\s+(?:does|do|is|will|would)(?:\s+it\s+(?:cost|take)\s+to)?\s+|"
    r"(?:get|obtain|apply\s+for|apply|request|acquire|receive|take\s+out|sort\s+out|arrange|go\s+for|do|have|"
    r"make|find|need)\s+|"
    r"(?:a|an|the|my|our|his|her|their|some|one|me|us)\s+)", re.IGNORECASE)
_EN_TAIL = re.compile(
    r"(?:\s*[?.!,;:]+|\s+(?:please|thanks|thank\s+you|here|online|in\s+person|in\s+china|in\s+this\s+city|"
    r"for\s+me|for\s+us|quickly|now|today|asap|"
    r"for\s+(?:my|our)\s+\w+|cost|costs|take|takes|for|to|of|in|on|at|with|about|and|or|"
    r"(?:and\s+)?(?:how|where|what|which|who|when)\b.*|"
    r"(?:do|does|did|is|are|can|could|should|would)\s+(?:i|we|you|it|they)\b.*|"
    r"(?:at\s+)?(?:which|what)\s+office\b.*))$", re.IGNORECASE)
_EN_VAGUE = {"it", "this", "that", "one", "thing", "things", "service", "services", "something", "permit", "licence",
             "license", "certificate", "document", "documents", "form", "forms", "help", "information", "info"}


def topic_phrase(question: str) -> Optional[str]:
    """The topic of the question in its own words ("建筑施工许可证", "Schengen visa"), or None when nothing
    sensible, short and free of personal-looking data is left."""
    text = question.strip()
    if not text:
        return None
    if detect_language(text) == "zh":
        return _first_topic(_CLAUSE_BREAK.split(text), _ZH_QUESTION, _ZH_SERVICE, _zh_clause_topic)
    return _first_topic(_EN_SENTENCE_BREAK.split(text), _EN_QUESTION, _EN_SERVICE, _en_sentence_topic)


def topic_words(question: str, language: str) -> str:
    """How the not-found reply names the question's topic in `language`: quoted ("“建筑施工许可证”"), or a
    general phrase ("您问的这项服务", "the service you asked about") when there is none to echo."""
    topic = topic_phrase(question)
    quoted, unnamed = _QUOTED.get(language, _QUOTED["zh"]), _UNNAMED.get(language, _UNNAMED["zh"])
    return quoted.format(topic) if topic else unnamed


# --- Chinese ---------------------------------------------------------------------------------------------------

def _zh_clause_topic(clause: str) -> Optional[str]:
    text = _zh_trimmed(_clean(clause))
    words = jieba.lcut(text)
    verbs = [index for index, word in enumerate(words[:-1]) if _ZH_VERB_WORD.match(word)]
    if verbs:
        text = "".join(words[verbs[-1] + 1:])
    text = _zh_trimmed(_ZH_VERB_PREFIX.sub("", text))
    text = re.sub(r"^(?:的|之|个|一个|张|一张|份|一份|这个|那个)+", "", text)
    if len(_HAN.findall(text)) < 2 or text in _ZH_VAGUE or _ZH_ASKING.search(text) or not subject_words(text):
        return None
    return _checked(text, "zh")


def _zh_trimmed(text: str) -> str:
    """The text without what is said before and after a topic, repeated until nothing more goes."""
    while True:
        trimmed = _strip(_ZH_TAIL, _strip(_ZH_LEAD, text, lead=True), lead=False)
        words = jieba.lcut(trimmed)
        while words and words[-1] in _ZH_PARTICLES:
            words.pop()
        trimmed = "".join(words).strip()
        if trimmed == text:
            return text
        text = trimmed


# --- English ---------------------------------------------------------------------------------------------------

def _en_sentence_topic(sentence: str) -> Optional[str]:
    text = re.sub(r"\s+", " ", _clean(sentence))
    text = _strip(_EN_TAIL, _strip(_EN_LEAD, text, lead=True), lead=False).strip(" -'")
    words = re.findall(r"[A-Za-z][A-Za-z'’-]*", text)
    if not words or all(word.lower() in _EN_VAGUE for word in words) or not subject_words(text):
        return None
    return _checked(text, "en")


# --- shared ----------------------------------------------------------------------------------------------------

def _first_topic(clauses: list[str], question: re.Pattern[str], service: re.Pattern[str],
                 topic_of: Callable[[str], Optional[str]]) -> Optional[str]:
    """The topic of the first clause, in _ranked_clauses order, that has one."""
    for clause in _ranked_clauses(clauses, question, service):
        topic = topic_of(clause)
        if topic is not None:
            return topic
    return None


def _ranked_clauses(clauses: list[str], question: re.Pattern[str], service: re.Pattern[str]) -> list[str]:
    """The clauses worth reading, best first: those that ask something (the last first), then those that name a
    service; a clause that does neither ("孩子都在外地"), or that holds personal-looking data, is never a topic."""
    kept = [clause.strip() for clause in clauses if clause and clause.strip() and not _PERSONAL.search(clause)]
    asking = [clause for clause in reversed(kept) if question.search(clause)]
    naming = [clause for clause in reversed(kept) if clause not in asking and service.search(clause)]
    return asking + naming


def _strip(pattern: re.Pattern[str], text: str, lead: bool) -> str:
    """Take the pattern away from the start (lead) or the end of the text until it no longer matches."""
    while True:
        match = pattern.search(text)
        if match is None or not match.group(0):
            return text
        stripped = (text[match.end():] if lead else text[:match.start()]).strip()
        if stripped == text:
            return text
        text = stripped


def _clean(text: str) -> str:
    return _DROPPED.sub("", text).strip()


def _checked(topic: str, language: str) -> Optional[str]:
    """The topic if it is short enough and holds nothing that may be personal data, else None."""
    topic = topic.strip(" .-/&·")
    if _HAN.search(topic) and len(_LATIN_WORD.findall(topic)) > 1:  # half Chinese, half English
        return None
    if not topic or len(topic) > MAX_TOPIC_CHARS[language] or _PERSONAL.search(topic) or not _ALLOWED.match(topic):
        return None
    return topic
