"""The built-in Baltic demo: run it, and score its alerts against ground truth."""
