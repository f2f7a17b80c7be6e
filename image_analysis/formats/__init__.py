"""The spreadsheet formats an inspector works in, each read and written in one module, so that a column is changed in
one place:

- ``findings_csv``: the findings CSV (written for a spreadsheet and scripts, read back after review);
- ``findings_workbook``: the findings workbook (Findings, Photos, Sign-off and the hidden AI record; written one
  photo at a time, read back strictly, cell by cell);
- ``drawing_csv``: a drawing set's sheets with their title blocks (written only).

The drawing register's CSV is the register's own (``register.register_csv``). Nothing is imported here.
"""
