from tests.cases.conftest import review_template, submitted_case  # noqa: F401  (shared fixtures)
