"""Report presentation: the tables (tables.py), the CSV and xlsx files (files.py) and the plotly
charts (charts.py). The figures themselves come from app/floor/report.py and assessment.py."""
