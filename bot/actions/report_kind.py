"""What kind of request (诉求类型) a citizen's report is, from their own words."""

import re

from workorders.records import RequestKind

# Checked in this order: the first kind whose words appear decides. A report of illegal conduct (举报) names it
# outright; a suggestion says so; a complaint (投诉) about a public problem; a consultation asks; else help (求助).
_KIND_WORDS: tuple[tuple[RequestKind, re.Pattern[str]], ...] = (
    (RequestKind.REPORT, re.compile(r"举报|违法|违规|非法|偷排|偷倒|私搭乱建|\billegal(ly)?\b|\bunlawful(ly)?\b"
                                    r"|\breport(ing)? (someone|somebody|a (shop|company|business|person))\b",
                                    re.IGNORECASE)),
    (RequestKind.SUGGESTION, re.compile(r"建议|希望能|能不能增加|最好能|提个意见|\bsuggest(ion)?s?\b|\bpropose\b"
                                        r"|\bit would be (better|nice|good)\b|\bwould be (better|nice) if\b",
                                        re.IGNORECASE)),
    (RequestKind.COMPLAINT, re.compile(r"投诉|\bcomplain(t|ts|ing|ed)?\b", re.IGNORECASE)),
    (RequestKind.CONSULTATION, re.compile(r"咨询|想问一下|\benquir(e|y)\b|\binquir(e|y)\b", re.IGNORECASE)),
)


def request_kind(text: str) -> RequestKind:
    """The kind of request the words make: report (举报, illegal), suggestion (建议, suggest), complaint (投诉 about
    a public problem), consultation (咨询), else help (求助)."""
    for kind, words in _KIND_WORDS:
        if words.search(text):
            return kind
    return RequestKind.HELP
