"""The parts of learn/generate.py's Generator: value pools and makers (fakes), regex strings
(patterns), keyword rules (keywords), the schema compiler (compiler) and hypothesis edge
cases (edges). Only learn/generate.py imports them.
"""
