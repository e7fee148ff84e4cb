"""`govbot kb lint`: consistency across items and between an item's two languages.

Validation (`knowledge.loader`) checks each file on its own; lint checks what only shows when items and
languages are compared, each finding as `file: field: reason`:

- items of one department (the zh department's name, up to its first bracket or separator) list the same
  hotline numbers, and one number is described the same way in every item;
- the zh and en texts of an item state the same numbers: digit runs ("60", "12,000", "1.5万"), Chinese
  numerals before a unit ("六十日", "两年"), English number words before a unit ("six months") and month
  names next to a day ("30 June"). Vague amounts ("十几个工作日", "a couple of weeks") are compared by their
  unit: each language must be vague about the same units. Ordinals ("第二年") and codes ("4S店") are not
  numbers; sample questions are the citizens' words and are not compared;
- every hotline number shows in the hotline line of the answer in each of the item's languages.
"""

import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterator

from knowledge.loader import MANIFEST_NAME, KnowledgeError, load_items
from knowledge.schema import LocalizedItem, ServiceItem

# ---- numbers ----------------------------------------------------------------------------------------------------
_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_POWER = {"十": 10, "百": 100, "千": 1000}
# Units a number or a vague amount is counted before, with the kind of quantity they name.
_ZH_UNITS = {"个工作日": "workday", "工作日": "workday", "天": "day", "日": "day", "个星期": "week", "星期": "week",
             "周岁": "age", "岁": "age", "周": "week", "个月": "month", "月": "month", "年": "year", "元": "yuan",
             "块": "yuan", "个小时": "hour", "小时": "hour", "分钟": "minute", "分": "point", "级": "level",
             "倍": "times", "人": "person", "名": "person", "个人": "person", "张": "sheet", "寸": "inch"}
_EN_UNITS = {"working day": "workday", "business day": "workday", "day": "day", "week": "week", "month": "month",
             "year": "year", "yuan": "yuan", "hour": "hour", "minute": "minute", "point": "point", "level": "level",
             "grade": "level", "person": "person", "people": "person", "photo": "sheet", "copy": "sheet",
             "copies": "sheet", "inch": "inch"}
_ZH_UNIT = "|".join(sorted(map(re.escape, _ZH_UNITS), key=len, reverse=True))
_EN_UNIT = r"(?:" + "|".join(sorted(map(re.escape, _EN_UNITS), key=len, reverse=True)) + r")(?:s|es)?\b"
_EN_WORDS = {word: value for value, word in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_EN_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90})
_MONTHS = {name: number for number, name in enumerate(
    "January February March April May June July August September October November December".split(), start=1)}

# A digit run (with thousands separators, decimals, 万/亿), not part of a code such as "4S" or "G6", nor an ordinal.
_DIGITS = re.compile(r"(?<![A-Za-z0-9_.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(万|亿)?(?![A-Za-z\d])")
_ZH_VAGUE = re.compile(r"(?:十几|十多|几十|几百|几千|一两|两三|三四|三五|几|"
                       r"(?<![多少])数(?=个?[天日周月年]|个?工作日))个?(" + _ZH_UNIT + ")")
_ZH_HALF = re.compile(r"(?<![上下])半年")  # six months (上半年/下半年 are halves of a year, not a length)
# a Chinese numeral before a unit, not an ordinal (第二年), not inside a longer numeral; 第十二条 (article 12) counts
_ZH_NUMERAL = re.compile(r"(?<![第几十百千万零〇一二两三四五六七八九])"
                         r"([零〇一二两三四五六七八九十][零〇一二两三四五六七八九十百千万]*)(?=个?(?:" + _ZH_UNIT + "))"
                         r"|第([零〇一二两三四五六七八九十百千]+)(?=[条款号章])")
_EN_VAGUE = re.compile(r"\b(?:a few|a couple of|several|a dozen or so|a dozen or more|ten-odd|one or two|"
                       r"two or three)\s+(?:more\s+)?(" + _EN_UNIT + r")|\ba (day|week|month|year) or two\b", re.I)
_EN_NUMBER = re.compile(r"\b(" + "|".join(_EN_WORDS) + r")(?:-(one|two|three|four|five|six|seven|eight|nine))?"
                        r"(?=\s+(?:more\s+|full\s+|calendar\s+)?" + _EN_UNIT + ")", re.I)
_EN_MONTH = re.compile(r"\b(" + "|".join(_MONTHS) + r")\b")
_DEPARTMENT_END = re.compile(r"[（(；;，,、的]")
_DEPARTMENT_PREFIX = re.compile(r"^(?:当地|参保地|区县|县级|市级|各地)")

Number = float


def chinese_numeral(text: str) -> int:
    """The value of a Chinese numeral such as 六十, 一百二十, 两, 一万二千 (digits and 十/百/千/万)."""
    total, section, digit = 0, 0, None
    for char in text:
        if char in _CN_DIGIT:
            digit = _CN_DIGIT[char]
        elif char in _CN_POWER:
            section += (1 if digit is None else digit) * _CN_POWER[char]
            digit = None
        elif char == "万":
            total += ((section + (digit or 0)) or 1) * 10000
            section, digit = 0, None
    return total + section + (digit or 0)


def _digit_values(text: str) -> set[Number]:
    values: set[Number] = set()
    for whole, decimals, power in _DIGITS.findall(text):
        value = float(whole.replace(",", "") + decimals) * {"万": 10_000, "亿": 100_000_000}.get(power, 1)
        values.add(value)
    return values


def numbers_zh(text: str) -> tuple[set[Number], set[str]]:
    """The numbers a Chinese text states, and the units it is vague about ("十几个工作日" → workday)."""
    vague = {_ZH_UNITS[unit] for unit in _ZH_VAGUE.findall(text)}
    text = _ZH_VAGUE.sub(" ", text)
    values = _digit_values(text) | ({6.0} if _ZH_HALF.search(text) else set())
    values |= {float(chinese_numeral(numeral or article)) for numeral, article in _ZH_NUMERAL.findall(text)}
    return values - {1.0}, vague


def numbers_en(text: str) -> tuple[set[Number], set[str]]:
    """The numbers an English text states, and the units it is vague about ("a couple of weeks" → week)."""
    vague = set()
    for match in _EN_VAGUE.finditer(text):
        unit = (match.group(1) or match.group(2)).lower()
        vague.add(next(kind for name, kind in _EN_UNITS.items() if unit.startswith(name)))
    text = _EN_VAGUE.sub(" ", text)
    values = _digit_values(text)
    values |= {float(_EN_WORDS[tens.lower()] + (_EN_WORDS[ones.lower()] if ones else 0))
               for tens, ones in _EN_NUMBER.findall(text)}
    for match in _EN_MONTH.finditer(text):  # "May" is a month only next to a day number: "1 May", "May 20"
        before, after = text[:match.start()].rstrip(), text[match.end():].lstrip()
        if match.group(1) != "May" or before[-1:].isdigit() or after[:1].isdigit():
            values.add(float(_MONTHS[match.group(1)]))
    return values - {1.0}, vague


def _texts(content: LocalizedItem) -> Iterator[tuple[str, str]]:
    """(field, text) for every text of one language except the sample questions."""
    def walk(path: str, value: object) -> Iterator[tuple[str, str]]:
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, list):
            for index, element in enumerate(value):
                yield from walk(f"{path}.{index}", element)
        elif isinstance(value, dict):
            for key, element in value.items():
                yield from walk(f"{path}.{key}", element)
    yield from walk("", content.model_dump(exclude={"sample_questions"}, exclude_none=True))


def _number_text(value: Number) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:g}"


def check_numbers(item: ServiceItem, file: str) -> list[KnowledgeError]:
    """The zh and en texts of the item state the same numbers and are vague about the same units."""
    if item.zh is None or item.en is None:
        return []
    found: dict[str, dict[str, tuple[set[Number], set[str]]]] = {
        "zh": {field: numbers_zh(text) for field, text in _texts(item.zh)},
        "en": {field: numbers_en(text) for field, text in _texts(item.en)},
    }
    totals = {language: (set().union(*(v for v, _ in fields.values())), set().union(*(u for _, u in fields.values())))
              for language, fields in found.items()}
    errors = []
    for language, other in (("zh", "en"), ("en", "zh")):
        for field, (values, vague) in found[language].items():
            for value in sorted(values - totals[other][0]):
                errors.append(KnowledgeError(file, f"{language}{field}",
                                             f"states {_number_text(value)}, which the {other} text does not"))
            for unit in sorted(vague - totals[other][1]):
                errors.append(KnowledgeError(file, f"{language}{field}",
                                             f"gives a vague number of {unit}s, which the {other} text does not "
                                             f"(state the same amount in both languages)"))
    # a number or vague unit found in several fields of one language is reported once, at its first field
    seen: set[tuple[str, str]] = set()
    unique = []
    for error in errors:
        key = (error.field.split(".")[0], error.reason)
        if key not in seen:
            seen.add(key)
            unique.append(error)
    return unique


# ---- hotlines ---------------------------------------------------------------------------------------------------
def department_of(item: ServiceItem) -> str:
    """The department an item belongs to: its zh department text (en if it has no zh) up to the first bracket,
    separator or 的, without a leading 当地/县级/…"""
    content = item.zh or item.en
    text = (content.department if content else None) or ""
    return _DEPARTMENT_PREFIX.sub("", _DEPARTMENT_END.split(text, maxsplit=1)[0].strip())


def check_departments(items: list[ServiceItem], files: dict[str, str]) -> list[KnowledgeError]:
    """Items of one department list the same hotline numbers (the most common set is taken as the department's)."""
    groups: dict[str, list[ServiceItem]] = defaultdict(list)
    for item in items:
        if department_of(item):
            groups[department_of(item)].append(item)
    errors = []
    for department, members in sorted(groups.items()):
        numbers = {item.id: tuple(sorted(line.number for line in item.hotlines)) for item in members}
        counts = Counter(numbers.values())
        if len(counts) < 2:
            continue
        usual = max(counts, key=lambda key: (counts[key], key))
        example = next(item.id for item in members if numbers[item.id] == usual)
        for item in members:
            if numbers[item.id] != usual:
                errors.append(KnowledgeError(
                    files[item.id], "hotlines",
                    f"{', '.join(numbers[item.id]) or 'none'} here, but other items of the department {department} "
                    f"list {', '.join(usual) or 'none'} (as {files[example]} does)"))
    return errors


def check_hotline_names(items: list[ServiceItem], files: dict[str, str]) -> list[KnowledgeError]:
    """A hotline number is described the same way (whose line it is) in every item that lists it."""
    names: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for item in items:
        for line in item.hotlines:
            for language in item.languages:
                names[(line.number, language)][line.whose(language)] += 1
    errors = []
    for item in items:
        for index, line in enumerate(item.hotlines):
            for language in item.languages:
                counts = names[(line.number, language)]
                usual = max(counts, key=lambda name: (counts[name], name))
                if line.whose(language) != usual:
                    errors.append(KnowledgeError(files[item.id], f"hotlines.{index}.{language}",
                                                 f"{line.number} is called {line.whose(language)!r} here but "
                                                 f"{usual!r} in {counts[usual]} other item(s)"))
    return errors


def check_hotline_rendering(item: ServiceItem, file: str) -> list[KnowledgeError]:
    """Every hotline number shows in the item's hotline line in each of its languages."""
    return [KnowledgeError(file, f"hotlines.{index}", f"{line.number} is missing from the {language} answer")
            for index, line in enumerate(item.hotlines) for language in item.languages
            if not re.search(rf"(?<!\d){line.number}(?!\d)", item.hotline_text(language))]


# ---- the whole knowledge base -----------------------------------------------------------------------------------
def lint_items(items: list[ServiceItem], files: dict[str, str] | None = None) -> list[KnowledgeError]:
    """Every consistency finding for these items; `files` maps an item id to its file name (default id.yml)."""
    names = {item.id: (files or {}).get(item.id, f"{item.id}.yml") for item in items}
    errors = check_departments(items, names) + check_hotline_names(items, names)
    for item in items:
        errors += check_hotline_rendering(item, names[item.id]) + check_numbers(item, names[item.id])
    return sorted(errors, key=lambda error: (error.file, error.field))


def lint_directory(directory: Path) -> list[KnowledgeError]:
    """Load the directory's items (raising InvalidKnowledgeBase if a file is invalid) and lint them."""
    items = load_items(directory)
    files = {path.stem: path.name for path in directory.iterdir()
             if path.suffix in (".yml", ".yaml") and path.name != MANIFEST_NAME}
    return lint_items(items, files)
