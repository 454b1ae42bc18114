"""Hardening shared by the web app and the API: rate limits, security
headers (CSP), the login lockout's wiring, upload archive checks and what
error reports may show."""
