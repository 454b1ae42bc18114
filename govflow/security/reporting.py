"""Keeping personal data out of logs and error reports.

Form posts carry ID numbers and phone numbers, and an exception's message
or a traceback's local variables may hold them. Error reports (the debug
page, mails to ADMINS) show no POST value and no local variable, and every
log line has anything shaped like a resident ID number or a mobile number
masked before it is written.
"""

from __future__ import annotations

import logging
import re

from django.views.debug import SafeExceptionReporterFilter

# 18-character resident ID numbers (and 15-digit old ones), mainland mobile
# numbers; bounded so that longer digit runs (timestamps, hashes) are left.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8}|\d{6})(\d{3}[\dXx]|\d{1})(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?(1[3-9]\d)(\d{4})(\d{4})(?![0-9])")


def redact(text: str) -> str:
    text = _ID_NUMBER.sub(lambda m: m[1][:4] + "*" * (len(m[0]) - 8) + m[0][-4:], text)
    return _MOBILE.sub(lambda m: m[1] + "****" + m[3], text)


class RedactingFormatter(logging.Formatter):
    """A formatter that masks ID and mobile numbers in the whole line,
    exception text included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class PersonalDataReporterFilter(SafeExceptionReporterFilter):
    """Error reports never show POST values or frame variables, in debug
    mode too (a developer's console is still a place personal data leaks)."""

    def is_active(self, request) -> bool:
        return True

    def get_post_parameters(self, request):
        if request is None:
            return {}
        cleansed = request.POST.copy()
        for key in cleansed:
            cleansed[key] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]
