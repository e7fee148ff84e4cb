"""Every bilingual (zh/en) text the Python side shows or says itself: one catalogue, one lookup.

Rasa's own responses stay in `bot/domain.yml`; the web page's texts are in `channels/web/static/i18n.js`.
A key names its area and its text: `text("en", "handoff.claimed", agent="Li")`. Templates use `str.format`
placeholders; a language other than "zh" or "en" gets the Chinese text.
"""

from typing import Final

LANGUAGES: Final = ("zh", "en")
DEFAULT_LANGUAGE: Final = "zh"

# key -> {language: template}; every key has both languages (a unit test checks).
CATALOGUE: Final[dict[str, dict[str, str]]] = {
    # --- shared ------------------------------------------------------------------------------------------------
    "unavailable": {
        "zh": "助手暂时无法回答，请稍后再试，或拨打12345热线。",
        "en": "The assistant is temporarily unavailable. Please try again shortly, or call the 12345 hotline.",
    },
    # --- what one caller may cost (channels/web/guards.py) ------------------------------------------------------
    "limits.too_many_requests": {"zh": "请求太频繁，请{seconds}秒后再试。",
                                 "en": "Too many requests; please try again in {seconds} s."},
    "limits.voice_busy": {"zh": "语音识别正忙，请稍后再说，或直接打字。",
                          "en": "Speech recognition is busy; please try again shortly, or type."},
    "limits.speech_busy": {"zh": "语音朗读正忙，请稍后再试，或直接阅读文字。",
                           "en": "Reading aloud is busy; please try again shortly, or read the text."},
    "limits.too_many_streams": {"zh": "打开的对话窗口太多，请关闭一些后再试。",
                                "en": "Too many conversation windows are open; please close some and try again."},
    "language_name.zh": {"zh": "中文", "en": "Chinese"},
    "language_name.en": {"zh": "英文", "en": "English"},

    # --- answers from the knowledge base (bot/actions/render.py) -----------------------------------------------
    "answer.steps": {"zh": "办理步骤", "en": "Steps"},
    "answer.materials": {"zh": "需要带的材料", "en": "What to bring"},
    "answer.eligibility": {"zh": "谁可以办", "en": "Who can apply"},
    "answer.fees": {"zh": "费用", "en": "Fee"},
    "answer.time": {"zh": "办理时限", "en": "Processing time"},
    "answer.online": {"zh": "网上办", "en": "Online"},
    "answer.offices": {"zh": "现场办", "en": "In person"},
    "answer.hotline": {"zh": "咨询电话", "en": "Hotline"},
    "answer.where": {"zh": "在哪里办", "en": "Where to apply"},
    "answer.clarify": {"zh": "您想问的是下面哪一项？请点选，或回复序号：",
                       "en": "Which of these do you mean? Choose one, or reply with its number:"},
    "answer.none_materials": {"zh": "不需要特别准备材料", "en": "Nothing special to bring"},
    "answer.unknown": {"zh": "这一项没有写明，请拨打咨询电话", "en": "Not stated here; please call the hotline"},
    "answer.more_steps": {"zh": "还有{n}步，回复“步骤”看全部",
                          "en": "({n} more to go: reply \"steps\" to see all of them)"},
    "answer.menu": {"zh": "想了解更多请回复数字：{options}", "en": "For more, reply with a number: {options}"},
    "answer.menu_sep": {"zh": "，", "en": ", "},
    "answer.menu.materials": {"zh": "要带的材料", "en": "what to bring"},
    "answer.menu.where": {"zh": "在哪里办", "en": "where to go"},
    "answer.menu.fees": {"zh": "费用", "en": "fee"},
    "answer.menu.time": {"zh": "要多久", "en": "how long"},
    "answer.rate_good": {"zh": "有用", "en": "Helpful"},
    "answer.rate_bad": {"zh": "没用", "en": "Not helpful"},
    "answer.ask_person": {"zh": "转人工", "en": "Talk to a person"},

    # --- rating an answer (bot/actions/rating.py) --------------------------------------------------------------
    "rating.thanks": {"zh": "感谢您的评价：{level}。还有什么可以帮您？",
                      "en": "Thank you for your rating: {level}. Anything else?"},
    "rating.sorry": {"zh": "抱歉没能帮到您（您的评价：{level}）。需要为您转人工客服吗？",
                     "en": "Sorry I couldn't help (your rating: {level}). Would you like to talk to a person?"},
    "rating.yes_person": {"zh": "是，转人工", "en": "Yes, a person"},
    "rating.no_thanks": {"zh": "不用了", "en": "No, thanks"},

    # --- reporting a problem in the conversation (bot/actions/report_*.py) -----------------------------------
    "report.ask_description": {"zh": "请说说发生了什么。", "en": "What happened?"},
    "report.ask_address": {"zh": "在什么地方？请说地址，或分享位置。",
                           "en": "Where is it? Tell me the address, or share your location."},
    "report.ask_since": {"zh": "从什么时候开始的？不清楚也可以说不知道。",
                         "en": "Since when? You can say you don't know."},
    "report.ask_contact": {"zh": "有关部门可以联系您吗？", "en": "May the department contact you?"},
    "report.ask_phone": {"zh": "请告诉我您的电话号码。", "en": "What is your phone number?"},
    "report.ask_change": {"zh": "要修改哪一项？", "en": "What would you like to change?"},
    "report.readback": {"zh": "请核对：\n1. 问题：{description}\n2. 地点：{address}\n3. 开始时间：{since}\n"
                                 "4. 联系：{contact}\n确认提交吗？",
                        "en": "Please check:\n1. What happened: {description}\n2. Where: {address}\n"
                              "3. Since: {since}\n4. Contact: {contact}\nShall I submit it?"},
    "report.cancelled": {"zh": "好的，已取消，没有提交任何内容。", "en": "OK, cancelled. Nothing was filed."},
    "report.location_shared": {"zh": "（位置已分享）", "en": "(location shared)"},
    "report.since_unknown": {"zh": "不清楚", "en": "not known"},
    "report.contact_chat": {"zh": "在本对话中联系", "en": "in this chat"},
    "report.contact_phone": {"zh": "电话 {number}", "en": "phone {number}"},
    "report.contact_none": {"zh": "不需要联系", "en": "no contact"},
    "report.button_chat": {"zh": "在这里联系", "en": "In this chat"},
    "report.button_phone": {"zh": "打电话", "en": "By phone"},
    "report.button_none": {"zh": "不用联系", "en": "No contact"},
    "report.button_submit": {"zh": "提交", "en": "Submit"},
    "report.button_change": {"zh": "修改", "en": "Change something"},
    "report.button_cancel": {"zh": "取消", "en": "Cancel"},
    "report.field_description": {"zh": "问题", "en": "What happened"},
    "report.field_address": {"zh": "地点", "en": "Where"},
    "report.field_since": {"zh": "开始时间", "en": "Since when"},
    "report.field_contact": {"zh": "联系方式", "en": "Contact"},
    "report.note_vague": {"zh": "请说得具体一点，比如“小区门口的路灯坏了”。",
                          "en": "Please say a little more, for example \"the street light outside my door is out\"."},
    "report.note_too_long": {"zh": "内容太长了，请控制在{limit}字以内。",
                             "en": "That is too long; please keep it under {limit} characters."},
    "report.note_phone": {"zh": "这个号码好像不对，请再说一遍。",
                          "en": "That number doesn't look right; please say it again."},
    "report.note_choose": {"zh": "请点选下面的一项。", "en": "Please choose one of the options below."},
    "report.note_changed": {"zh": "已改好。", "en": "Changed."},

    # --- a ticket with a person (handoff/texts.py) -------------------------------------------------------------
    "handoff.opened": {
        "zh": "已为您转人工客服，工单号 {number}。您前面还有 {ahead} 位，预计等待约 {minutes} 分钟。"
              "请在这里继续留言，客服接入后都能看到。",
        "en": "You are now in the queue for a person; your ticket number is {number}. {ahead} people are ahead "
              "of you, the wait is about {minutes} minutes. Keep writing here: the agent will see everything.",
    },
    "handoff.opened_offline": {
        "zh": "现在没有人工客服在线。已为您登记工单 {number}，{when}。"
              "请在这里留言说明情况，急事请拨打12345政务服务便民热线。",
        "en": "No agent is online right now. Your ticket {number} is registered; {when}. "
              "Leave your message here; for urgent matters call the 12345 hotline.",
    },
    "handoff.waiting": {
        "zh": "您的留言已转给人工客服（工单 {number}），您排在第 {position} 位，预计等待约 {minutes} 分钟。",
        "en": "Your message is with the agents (ticket {number}). You are number {position} in the queue, "
              "about {minutes} minutes to wait.",
    },
    "handoff.waiting_offline": {"zh": "您的留言已记在工单 {number} 上，{when}。急事请拨打12345。",
                                "en": "Your message is on ticket {number}; {when}. For urgent matters call 12345."},
    "handoff.claimed": {"zh": "人工客服 {agent} 已接入，正在查看您的问题。",
                        "en": "Agent {agent} has joined and is reading your question."},
    "handoff.closed": {
        "zh": "本次人工服务已结束（工单 {number}），智能助手继续为您服务。请为本次人工服务打分：",
        "en": "The agent has finished (ticket {number}); the assistant is back. Please rate the agent's help:",
    },
    "handoff.cancelled": {"zh": "已取消人工服务（工单 {number}），智能助手继续为您服务。",
                          "en": "The request for a person is cancelled (ticket {number}); the assistant is back."},
    "handoff.rated": {"zh": "感谢您的评价：{level}。还有什么可以帮您？",
                      "en": "Thank you for your rating: {level}. What else can I help you with?"},
    "handoff.cancel": {"zh": "取消转人工", "en": "Cancel the request for a person"},
    "handoff.agent_prefix": {"zh": "人工客服 {agent}：", "en": "Agent {agent}: "},
    "handoff.soon": {"zh": "客服上线后会尽快联系您", "en": "an agent will contact you as soon as one is available"},
    "handoff.at": {"zh": "客服会在{moment:%m月%d日 %H:%M}以后联系您",
                   "en": "an agent will contact you after {moment:%d %b %H:%M}"},

    # --- voice input (channels/voice/service.py) ---------------------------------------------------------------
    "voice.not_set_up": {"zh": "{name}语音输入暂未开通，请打字或拨打12345。",
                         "en": "Voice input in {name} is not set up here — please type, or call 12345."},
    "voice.confirm": {"zh": "您是说“{text}”吗？", "en": "Did you mean “{text}”?"},
    "voice.yes": {"zh": "是", "en": "Yes"},
    "voice.no": {"zh": "不是", "en": "No"},

    # --- the Telegram channel (channels/telegram) --------------------------------------------------------------
    "telegram.help": {
        "zh": "我可以告诉您怎么办各类政务服务：身份证、护照、社保、医保、公积金、营业执照、婚姻登记等。"
              "直接打字提问就行，比如“护照怎么办理”。\n\n"
              "/large 大字模式（开/关）\n/voice 语音播报（开/关）\n/human 转人工客服\n"
              "/lang 切换语言（中文/English）\n/help 显示这段说明",
        "en": "I can tell you how to get government services done: ID card, passport, social security, medical "
              "insurance, housing fund, business registration, marriage and more. Just type your question, "
              'for example "how do I apply for a passport".\n\n'
              "/large large text (on/off)\n/voice spoken answers (on/off)\n/human talk to a person\n"
              "/lang switch language (中文/English)\n/help show this help",
    },
    "telegram.command.start": {"zh": "开始", "en": "Start"},
    "telegram.command.help": {"zh": "帮助", "en": "Help"},
    "telegram.command.large": {"zh": "大字模式 开/关", "en": "Large text on/off"},
    "telegram.command.voice": {"zh": "语音播报 开/关", "en": "Spoken answers on/off"},
    "telegram.command.human": {"zh": "转人工客服", "en": "Talk to a person"},
    "telegram.command.lang": {"zh": "切换语言", "en": "Switch language"},
    "telegram.keyboard.voice": {"zh": "🔊 语音 开/关", "en": "🔊 Voice on/off"},
    "telegram.keyboard.human": {"zh": "👤 转人工", "en": "👤 Talk to a person"},
    "telegram.keyboard.lang": {"zh": "🌐 English", "en": "🌐 中文"},
    "telegram.keyboard.help": {"zh": "❓ 帮助", "en": "❓ Help"},
    "telegram.keyboard.large": {"zh": "🔠 关闭大字", "en": "🔠 Normal text"},
    "telegram.greeting_prompt": {"zh": "你好", "en": "hello"},  # what /start sends to Rasa to be greeted in it
    "telegram.too_long": {"zh": "消息太长了，请缩短到{limit}字以内。",
                          "en": "That message is too long; please keep it under {limit} characters."},
    "telegram.expired": {"zh": "这个按钮已过期，请重新提问。", "en": "This button has expired; please ask again."},
    "telegram.heard": {"zh": "我听到：{text}", "en": "I heard: {text}"},
    "telegram.voice_bad_audio": {"zh": "这条语音听不清（{reason}），请再说一遍，或打字提问。",
                                 "en": "I could not use that voice message ({reason}); please say it again, or type."},
    "telegram.voice_unavailable": {"zh": "语音识别暂时不可用，请打字提问，或拨打12345。",
                                   "en": "Speech recognition is not available right now; please type, or call 12345."},
    # --- work orders (workorders/notices.py): what the citizen is told at each step -----------------------------
    "workorder.accepted": {
        "zh": "已受理，工单号 {number}。我们会尽快派给负责的部门，处理进展会在这里告诉您。",
        "en": "Your report is accepted as order {number}. It will be sent to the responsible department soon; "
              "you will be told here how it goes.",
    },
    "workorder.dispatched": {
        "zh": "工单 {number} 已派给{department}，将在{reply_by:%m月%d日 %H:%M}前给您反馈。",
        "en": "Order {number} has been sent to {department}, who will reply by {reply_by:%d %b %H:%M}.",
    },
    "workorder.signed": {"zh": "{department}已签收工单 {number}，正在安排处理。",
                         "en": "{department} has taken on order {number}."},
    "workorder.started": {"zh": "{department}正在办理工单 {number}。",
                          "en": "{department} is working on order {number}."},
    "workorder.replied": {"zh": "{department}对工单 {number} 的答复：{reply}",
                          "en": "{department}'s answer on order {number}: {reply}"},
    "workorder.visit_resolved": {"zh": "您反映的问题解决了吗？", "en": "Has your problem been solved?"},
    "workorder.visit_rating": {"zh": "您对处理结果满意吗？", "en": "Are you satisfied with how it was handled?"},
    "workorder.resolved_yes": {"zh": "已解决", "en": "Solved"},
    "workorder.resolved_no": {"zh": "没解决", "en": "Not solved"},
    "workorder.closed": {"zh": "工单 {number} 已办结，感谢您的反馈。", "en": "Order {number} is closed. Thank you."},
    "workorder.reopened": {"zh": "工单 {number} 已重新派给{department}继续处理。",
                           "en": "Order {number} has been sent back to {department} to work on again."},
    "workorder.reopened_centre": {"zh": "工单 {number} 已退回12345中心重新派单。",
                                  "en": "Order {number} is back with the 12345 centre to be sent on again."},
    "workorder.redispatched": {
        "zh": "工单 {number} 已改派给{department}，将在{reply_by:%m月%d日 %H:%M}前给您反馈。",
        "en": "Order {number} has been passed to {department}, who will reply by {reply_by:%d %b %H:%M}.",
    },
    "workorder.extended": {"zh": "工单 {number} 的反馈时间延长到{reply_by:%m月%d日 %H:%M}。",
                           "en": "The reply on order {number} is now due by {reply_by:%d %b %H:%M}."},
    "workorder.merged": {"zh": "您反映的问题与工单 {into} 是同一件事，已合并处理，进展请看工单 {into}。",
                         "en": "Your report is the same matter as order {into}; they are handled together as {into}."},
    "workorder.status_line": {"zh": "工单 {number}（{kind}）：{status}{department}{due}",
                              "en": "Order {number} ({kind}): {status}{department}{due}"},
    "workorder.status_department": {"zh": "，承办：{department}", "en": ", with {department}"},
    "workorder.status_due": {"zh": "，{reply_by:%m月%d日 %H:%M}前反馈", "en": ", reply due {reply_by:%d %b %H:%M}"},
    "workorder.status_none": {"zh": "您在这个对话里还没有工单。要反映问题，直接告诉我发生了什么。",
                              "en": "You have no orders in this conversation. To report a problem, tell me what "
                                    "happened."},
    "workorder.status_unknown": {"zh": "没有找到您的工单 {number}，请核对工单号。",
                                 "en": "No order {number} of yours was found; please check the number."},
    "workorder.not_filed": {"zh": "抱歉，工单暂时没能提交，请稍后再试或拨打12345热线。",
                            "en": "Sorry, the report could not be filed just now. Please try again or call 12345."},
    "workorder.centre": {"zh": "12345中心", "en": "the 12345 centre"},
    "telegram.unsupported": {"zh": "请用文字提问。", "en": "Please type your question."},
    "telegram.keyboard_on": {"zh": "下方按钮可以直接点。", "en": "You can tap the buttons below."},
}


def supported(language: str) -> str:
    """The catalogue language for `language`: itself when it is "zh" or "en", else Chinese."""
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def text(language: str, key: str, **values: object) -> str:
    """The text `key` in `language` (Chinese for an unknown one), its {placeholders} filled from `values`."""
    return CATALOGUE[key][supported(language)].format(**values)


def both(key: str, first: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The text in both languages, `first` first: "中文 / English" (for replies sent before a language is known)."""
    first = supported(first)
    second = "en" if first == "zh" else "zh"
    return f"{text(first, key, **values)} / {text(second, key, **values)}"


def has(key: str) -> bool:
    """Whether the catalogue holds the key."""
    return key in CATALOGUE
