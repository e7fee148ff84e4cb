"""The Telegram channel's own words (help, keyboard labels, errors), in Chinese and English."""

from typing import Optional

HELP = {
    "zh": ("我可以告诉您怎么办各类政务服务：身份证、护照、社保、医保、公积金、营业执照、婚姻登记等。"
           "直接打字提问就行，比如“护照怎么办理”。\n\n"
           "/large 大字模式（开/关）\n/voice 语音播报（开/关）\n/human 转人工客服\n"
           "/lang 切换语言（中文/English）\n/help 显示这段说明"),
    "en": ("I can tell you how to get government services done: ID card, passport, social security, medical "
           "insurance, housing fund, business registration, marriage and more. Just type your question, "
           'for example "how do I apply for a passport".\n\n'
           "/large large text (on/off)\n/voice spoken answers (on/off)\n/human talk to a person\n"
           "/lang switch language (中文/English)\n/help show this help"),
}

COMMANDS = {
    "zh": {"start": "开始", "help": "帮助", "large": "大字模式 开/关", "voice": "语音播报 开/关",
           "human": "转人工客服", "lang": "切换语言"},
    "en": {"start": "Start", "help": "Help", "large": "Large text on/off", "voice": "Spoken answers on/off",
           "human": "Talk to a person", "lang": "Switch language"},
}

# The persistent reply keyboard of large-text mode: label -> the command it stands for.
KEYBOARD = {
    "zh": [[("🔊 语音 开/关", "voice"), ("👤 转人工", "human")],
           [("🌐 English", "lang"), ("❓ 帮助", "help")],
           [("🔠 关闭大字", "large")]],
    "en": [[("🔊 Voice on/off", "voice"), ("👤 Talk to a person", "human")],
           [("🌐 中文", "lang"), ("❓ Help", "help")],
           [("🔠 Normal text", "large")]],
}
KEYBOARD_ACTIONS = {label: action for rows in KEYBOARD.values() for row in rows for label, action in row}

GREETING_PROMPT = {"zh": "你好", "en": "hello"}  # what /start sends to Rasa, so it greets in that language

MESSAGES = {
    "unavailable": {"zh": "助手暂时无法回答，请稍后再试，或拨打12345热线。",
                    "en": "The assistant is temporarily unavailable. Please try again shortly, or call the 12345 hotline."},
    "too_long": {"zh": "消息太长了，请缩短到{limit}字以内。",
                 "en": "That message is too long; please keep it under {limit} characters."},
    "expired": {"zh": "这个按钮已过期，请重新提问。", "en": "This button has expired; please ask again."},
    "heard": {"zh": "我听到：{text}", "en": "I heard: {text}"},
    "voice_bad_audio": {"zh": "这条语音听不清（{reason}），请再说一遍，或打字提问。",
                        "en": "I could not use that voice message ({reason}); please say it again, or type."},
    "voice_unavailable": {"zh": "语音识别暂时不可用，请打字提问，或拨打12345。",
                          "en": "Speech recognition is not available right now; please type, or call 12345."},
    "unsupported": {"zh": "请用文字提问。", "en": "Please type your question."},
    "keyboard_on": {"zh": "下方按钮可以直接点。", "en": "You can tap the buttons below."},
}


def language_of(code: Optional[str], known: Optional[str] = None) -> str:
    """The language to use: what the bot last answered in, else the user's Telegram language (zh/en)."""
    if known in ("zh", "en"):
        return known
    return "zh" if (code or "").lower().startswith("zh") else "en" if code else "zh"


def message(name: str, language: str, **values: object) -> str:
    return MESSAGES[name][language].format(**values)
