"""Read-side queries for cases, tasks and attachments, with their permission
filtering. Views ask these; they never query the models themselves, and no
selector writes.

One module per area: `access` (the applicant's cases, who may see a case),
`detail` (the case page), `timeline`, `documents` (attachments), `inbox`
(the reviewer's tasks), `clocks` (task and case limits) and `common`. The
names callers use are re-exported here; the department head's page is shaped
in govflow.web.presenters.

Who sees what (the selectors' filters are the permission system):

- an applicant sees only their own cases and the attachments on them;
- a reviewer sees a case only while one of their departments has, or had,
  a review or countersignature task on it, and works only the tasks of their
  departments; a department head sees the department's tasks;
- anyone else gets NotFound, the same answer as for a case that does not
  exist, so a reference cannot be probed.

Query counts of the main selectors are pinned in tests/web/test_selectors.py.
"""

from .access import CaseAccess, case_access, case_get_for_applicant, cases_for_applicant
from .clocks import LIMIT_TITLES, CaseLimit, Sla, case_limits, sla_of
from .common import MAX_SEARCH, STAFF_TASK_KINDS, display_name, language_key
from .detail import CaseDetail, CorrectionRequest, ProgressRow, SignatureGroup, case_detail
from .documents import AttachmentRow, attachment_get_for_user, attachments_for_case, slot_label
from .inbox import (
    INBOX_DUE,
    INBOX_PAGE_SIZE,
    INBOX_STATUSES,
    TaskPage,
    TaskRow,
    colleague_get,
    task_get_for_reviewer,
    task_row,
    tasks_for_reviewer,
)
from .timeline import (
    PUBLIC_TIMELINE_KINDS,
    STAFF_TIMELINE_KINDS,
    TimelineEntry,
    item_timeline_entry,
    timeline_entries,
)

__all__ = [
    "INBOX_DUE",
    "INBOX_PAGE_SIZE",
    "INBOX_STATUSES",
    "LIMIT_TITLES",
    "MAX_SEARCH",
    "PUBLIC_TIMELINE_KINDS",
    "STAFF_TASK_KINDS",
    "STAFF_TIMELINE_KINDS",
    "AttachmentRow",
    "CaseAccess",
    "CaseDetail",
    "CaseLimit",
    "CorrectionRequest",
    "ProgressRow",
    "SignatureGroup",
    "Sla",
    "TaskPage",
    "TaskRow",
    "TimelineEntry",
    "attachment_get_for_user",
    "attachments_for_case",
    "case_access",
    "case_detail",
    "case_get_for_applicant",
    "case_limits",
    "cases_for_applicant",
    "colleague_get",
    "display_name",
    "item_timeline_entry",
    "language_key",
    "sla_of",
    "slot_label",
    "task_get_for_reviewer",
    "task_row",
    "tasks_for_reviewer",
    "timeline_entries",
]
