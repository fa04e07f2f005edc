"""Answering a request: the engine (config and recordings to one answering function),
replay matching (matching, with its rules, match keys and near-miss explanations in
match_rules, match_keys and misses), drift of live answers from the learned schemas
(drift), in-memory state (state), real tables for database mode (tables, seeding, listing),
handler worker processes (workers), and the modes themselves (modes/: replay, mock, proxy,
runtime, database, in an explicit registry). answer imports core, config, record and learn;
it knows nothing of HTTP servers, which live in host.
"""
