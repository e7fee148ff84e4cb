"""Reading a short follow-up question: which part of an item it asks about, and whether it names a service.

"要带什么材料" asks about the materials of the item already being discussed; "办护照要带什么材料"
names a service of its own. What is left after taking away the words of the question itself
("what", "need", "bring", "材料") is the service it names, if any.
"""

import re
from typing import Optional

import jieba

# Words that say which part of an item is asked about (checked in this order).
FIELD_CUES: dict[str, tuple[str, ...]] = {
    "materials": ("材料", "证件", "资料", "带什么", "带哪些", "准备什么", "准备哪些", "照片", "bring", "document",
                  "paper", "material", "prepare", "photo", "take with"),
    "fees": ("多少钱", "收费", "费用", "交钱", "免费", "工本费", "贵不贵", "要钱", "花多少", "cost", "fee", "pay",
             "free", "price", "charge", "how much"),
    "time": ("多久", "多长时间", "几天", "时限", "什么时候", "工作日", "当天", "how long", "how soon", "days",
             "ready", "same day", "processing time", "wait", "pick it up"),
    "where": ("哪里", "哪儿", "哪办", "地点", "网上", "线上", "手机上", "部门", "窗口", "大厅", "上班", "出门",
              "where", "online", "office", "phone", "opening hours", "department", "in person"),
    "eligibility": ("谁可以", "谁能", "条件", "能办吗", "能申请", "符合", "代办", "什么人", "who can", "eligib",
                    "qualif", "requirement", "condition", "can i apply", "someone else", "foreigner"),
    "steps": ("流程", "步骤", "怎么办理", "怎么操作", "第一步", "先做什么", "然后", "step", "process", "how do i do",
              "first", "next", "walk me through", "and then"),
}

# Words that carry no subject of their own in a follow-up question.
_ZH_FILLER = set("""
要 需要 带 什么 哪些 哪个 哪 啥 吗 呢 吧 啊 呀 嘛 了 的 得 地 是 有 没有 不 我 你 您 他 她 我们
这个 那个 这 那 还 还要 还有
都 也 就 又 再 去 来 到 在 办 办理 怎么 怎样 如何 多少 多 少 钱 能 能不能 可以 可不可以 会 用 给 把 让 请问 请 一下 一个
那么 然后 东西 别的 其他 具体 一共 大概 一般 大约 清单 发 全部 所有 后面 后 前 里 上 下 个 几 天 时间 长 快 慢 交 花 贵
准备 材料 证件 资料 照片 费用 收费 免费 工本费 地点 网上 线上 手机 手机上 部门 窗口 大厅 上班 出门 条件 符合 代办 流程
步骤 操作 第一步 先 做 告诉 知道 问 想 问问 这样 那样 样 标准 结果 拿到 拿 出 工作日 当天 时限 哪里 哪儿 申请 人 谁 别人
""".split())
_EN_FILLER = set("""
a an the i me my we you it its is are am be do does did have has had need needs needed to of for in on at with
what which who whom how much many long soon when where why can could should would will shall must may and or
then else anything any some there this that these those please tell show list again also about just so if
bring take prepare documents document papers paper materials material required require requirements photo
cost costs fee fees pay price charge charges free it's is there ready day days same wait working processing
time go apply online office offices phone opening hours department person eligible qualify qualifies
condition conditions someone foreigner steps step process first next walk through happens all let know get
""".split())
_HAN = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[a-z][a-z']+")


def field_asked(text: str) -> Optional[str]:
    """The part of an item the text asks about (materials, fees, time, where, eligibility, steps), if any."""
    lowered = text.lower()
    for field, cues in FIELD_CUES.items():
        if any(cue in lowered for cue in cues):
            return field
    return None


def subject_words(text: str) -> list[str]:
    """The words of the text beyond the question words: the service, document or person it names."""
    lowered = text.lower()
    for cues in FIELD_CUES.values():
        for cue in cues:
            lowered = lowered.replace(cue, " ")
    han_left = [word for word in jieba.lcut(lowered) if _HAN.search(word) and word not in _ZH_FILLER
                and not all(char in _ZH_FILLER for char in word)]
    latin_left = [word for word in _WORD.findall(lowered) if word not in _EN_FILLER]
    return han_left + latin_left
