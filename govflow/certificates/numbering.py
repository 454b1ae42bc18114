"""Numbers for the documents a department issues (certificates, written
letters): `<prefix>-<year>-<six digits>`, one gapless counter per prefix and
year (CertificateSequence), taken under a row lock."""

from __future__ import annotations

from govflow.errors import InvalidInput

from .models import CertificateSequence


def number_prefix(department_code: str) -> str:
    """A department's letters in certificate numbers: the initials of its
    code (market_regulation -> MR), or the first three letters of a one-word
    code (tax -> TAX). Departments sharing letters share one sequence, so
    numbers stay unique."""
    parts = [p for p in department_code.split("_") if p]
    if len(parts) > 1:
        return "".join(p[0] for p in parts)[:4].upper()
    return (parts[0][:3] if parts else "GOV").upper()


def next_number(prefix: str, year: int) -> str:
    """The next number of `prefix` in `year` (at most 8 characters of prefix).
    Caller is in a transaction; the sequence row stays locked until it ends."""
    CertificateSequence.objects.bulk_create(
        [CertificateSequence(prefix=prefix, year=year)], ignore_conflicts=True
    )
    sequence = CertificateSequence.objects.select_for_update().get(prefix=prefix, year=year)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return f"{prefix}-{year}-{sequence.last:06d}"


# -- 食品经营许可证编号 ---------------------------------------------------------------
# JY + 14 digits: the 主体业态 code (1 digit), the county-level administrative
# division of the issuing authority (6 digits, GB/T 2260: province, city,
# county), a sequence of that authority (6 digits) and a check digit. The
# measures fix the layout, not the check-digit algorithm: ISO 7064 MOD 11,10
# is this system's (local) choice; it detects every single-digit error.

FOOD_LICENCE = "food_business_licence"
FOOD_NUMBER_PREFIX = "JY"
# 主体业态代码: 1 食品销售经营者, 2 餐饮服务经营者, 3 集中用餐单位食堂.
FOOD_FORMAT_CODES = {"food_sales": "1", "catering": "2", "canteen": "3"}
# The JY sequence runs on without a yearly reset (the number has no year).
UNDATED = 0


def mod11_10_check_digit(digits: str) -> str:
    """The ISO 7064 MOD 11,10 check digit of a string of decimal digits."""
    if not digits.isdigit() or not digits.isascii():
        raise ValueError(f"not a string of digits: {digits!r}")
    product = 10
    for digit in digits:
        total = (product + int(digit)) % 10 or 10
        product = (total * 2) % 11
    return str((11 - product) % 10)


def mod11_10_valid(digits: str) -> bool:
    """True if the last digit is the MOD 11,10 check digit of the others."""
    if len(digits) < 2 or not digits.isdigit() or not digits.isascii():
        return False
    return mod11_10_check_digit(digits[:-1]) == digits[-1]


def food_licence_number_valid(number: str) -> bool:
    """A well-formed 食品经营许可证编号: JY, a known 主体业态 code, 13 more
    digits, and the right check digit."""
    if len(number) != 16 or not number.startswith(FOOD_NUMBER_PREFIX):
        return False
    digits = number[2:]
    return digits[:1] in FOOD_FORMAT_CODES.values() and mod11_10_valid(digits)


def food_licence_number(business_format: str, region_code: str) -> str:
    """The next 食品经营许可证编号 of the authority of `region_code`. Caller
    is in a transaction; the authority's sequence row stays locked."""
    code = FOOD_FORMAT_CODES.get(str(business_format or ""))
    region = str(region_code or "")
    if code is None:
        raise InvalidInput(
            f"unknown 主体业态 {business_format!r}: a food business licence needs one of "
            + ", ".join(FOOD_FORMAT_CODES)
        )
    if len(region) != 6 or not region.isdigit():
        raise InvalidInput(f"a food business licence needs a six-digit region code, not {region_code!r}")
    prefix = FOOD_NUMBER_PREFIX + region
    CertificateSequence.objects.bulk_create(
        [CertificateSequence(prefix=prefix, year=UNDATED)], ignore_conflicts=True
    )
    sequence = CertificateSequence.objects.select_for_update().get(prefix=prefix, year=UNDATED)
    if sequence.last >= 999999:
        raise InvalidInput(f"the food licence sequence of {region} is exhausted")
    sequence.last += 1
    sequence.save(update_fields=["last"])
    body = f"{code}{region}{sequence.last:06d}"
    return f"{FOOD_NUMBER_PREFIX}{body}{mod11_10_check_digit(body)}"


def certificate_number(*, cert_type: str, department_code: str, year: int, data: dict) -> str:
    """The number of a new certificate: a food business licence's JY number
    (from the case's 主体业态 and district), any other type's
    `<prefix>-<year>-<sequence>`."""
    if cert_type == FOOD_LICENCE:
        return food_licence_number(data.get("business_format"), data.get("region_code"))
    return next_number(number_prefix(department_code), year)
