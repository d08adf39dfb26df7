"""The monthly unit score (考核): rules, measured inputs, API and reports (issue 12)."""
