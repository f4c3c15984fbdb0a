"""Feature families of a point-in-time snapshot, one module each.

Every family is a pure function ``(grid, tables/indices) -> Columns`` (a dict of column name to
array, aligned row for row with the snapshot grid: one DataFrame is built at the end, which
keeps the one-borrower online path within its latency budget), and every value in it is
computed only from records known at the row's ``as_of``. Column names say what a post-loan
manager would call the figure.
"""

from typing import Any

#: Column name -> values (numpy array or pandas Categorical), one value per snapshot row.
Columns = dict[str, Any]
