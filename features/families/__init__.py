"""Feature families of a point-in-time snapshot, one module each.

Every family is a pure function ``(grid, tables/indices) -> DataFrame`` aligned row for row
with the snapshot grid, and every value in it is computed only from records known at the row's
``as_of``. Column names say what a post-loan manager would call the figure.
"""
