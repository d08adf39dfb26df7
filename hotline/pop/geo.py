"""Where a caller's number is from and its carrier, from Google's libphonenumber data (the
``phonenumbers`` package: kept up to date by its maintainers, not a prefix table of ours).

:func:`locate` takes a person key (:func:`hotline.spine.numbers.person_key`, E.164 for a mainland
mobile or fixed line) and gives the province and city (geocoder, Chinese) and, for a mobile, the
carrier it was allocated to (Chinese; a number ported since keeps its original carrier). Anything
the data does not know (a short service number, ``anonymous``, a local number without area code,
another country's number for province/city) gives null fields, never an error. Cached: a seat's
screen reads the same caller many times during a call.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any

import phonenumbers
from phonenumbers import carrier, geocoder

LANG = "zh"
MAINLAND = "CN"
# where a province-level name ends and the city begins: 河南省郑州市, 广西壮族自治区南宁市
_PROVINCE_ENDS = ("特别行政区", "自治区", "省")
_MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")
# the autonomous regions as the data often writes them (新疆乌鲁木齐市, 广西南宁市)
_SHORT_REGIONS = ("内蒙古", "广西", "西藏", "宁夏", "新疆")


@dataclass(frozen=True)
class Location:
    region: str | None = None        # ISO country of the number (CN for the mainland)
    province: str | None = None      # 河南省, 北京市
    city: str | None = None          # 郑州市, 北京市
    carrier: str | None = None       # 中国移动 (mobiles only: the carrier the number was allocated to)
    description: str | None = None   # the geocoder's whole text: 河南省郑州市, 美国

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


UNKNOWN = Location()


def split_place(text: str) -> tuple[str | None, str | None]:
    """(province, city) of the geocoder's Chinese text; (None, None) when it names no province."""
    for city in _MUNICIPALITIES:
        if text.startswith(city):
            return city, city
    for region in _SHORT_REGIONS:
        if text.startswith(region) and "自治区" not in text:
            return region, text[len(region):] or None
    for end in _PROVINCE_ENDS:
        at = text.find(end)
        if at > 0:
            cut = at + len(end)
            return text[:cut], text[cut:] or None
    return None, None


@functools.lru_cache(maxsize=65536)
def locate(key: str) -> Location:
    """The location and carrier of person key ``key`` (see the module docstring)."""
    if not key.startswith("+") or len(key) > 17:
        return UNKNOWN
    try:
        number = phonenumbers.parse(key, None)
    except phonenumbers.NumberParseException:
        return UNKNOWN
    if not phonenumbers.is_valid_number(number):
        return UNKNOWN
    region = phonenumbers.region_code_for_number(number) or None
    description = geocoder.description_for_number(number, LANG) or None
    if region != MAINLAND:
        return Location(region=region, description=description)
    province, city = split_place(description or "")
    return Location(region=region, province=province, city=city,
                    carrier=carrier.name_for_number(number, LANG) or None, description=description)
