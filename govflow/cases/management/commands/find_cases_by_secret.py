"""find_cases_by_secret — which cases hold this ID or phone number?

For operators answering an authority's or a data subject's request. The
value is read from standard input (or asked for without echo), never from
the command line, where it would stay in the shell history and the process
list. The search is audited (SECRET_LOOKUP: the field, the cases found, not
the value).
"""

import getpass
import sys

from django.core.management.base import BaseCommand, CommandError

from govflow.cases.reads import secret_lookup_record
from govflow.cases.selectors.lookup import case_find_by_secret
from govflow.errors import InvalidInput
from govflow.security.crypto import DataKeyError


class Command(BaseCommand):
    help = "List the cases whose secret field holds a value read from standard input (exact match)."

    def add_arguments(self, parser):
        parser.add_argument("field", help="a secret form field, or a secret table column as table.column")
        parser.add_argument("--template", help="only cases of this template (its code)")

    def handle(self, *args, **options):
        field = options["field"]
        if sys.stdin.isatty():
            value = getpass.getpass(f"{field}: ")
        else:
            value = sys.stdin.readline().rstrip("\r\n")
        try:
            cases = case_find_by_secret(field=field, value=value, template=options["template"])
        except InvalidInput as exc:
            raise CommandError(exc.message) from exc
        except DataKeyError as exc:
            raise CommandError(exc.message) from exc
        secret_lookup_record(
            field=field,
            template=options["template"],
            cases=cases,
            via=f"find_cases_by_secret (system user {getpass.getuser()})",
        )
        for case in cases:
            submitted = case.submitted_at.isoformat(timespec="seconds") if case.submitted_at else "-"
            self.stdout.write(f"{case.reference}\t{case.template.code}\t{case.status}\t{submitted}")
        self.stderr.write(f"{len(cases)} case(s)")
