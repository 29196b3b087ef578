"""Report formats and their delivery (no Flask, no database).

Exporters take plain records and write files or streams; ``server/reports``
queries the database and feeds them. The format registry arrives with the
government reports (issue 3).
"""
