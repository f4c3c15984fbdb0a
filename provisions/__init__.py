"""Loan-loss provisions: IFRS 9 stages, China's five categories and expected credit loss."""
