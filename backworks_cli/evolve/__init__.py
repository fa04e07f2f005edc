"""Evolving an endpoint from one mode to another: the plan and its application to
backworks.yaml with the user's comments kept (promote), the handler files a runtime
endpoint starts from (scaffold), and the inventory of endpoints and their modes behind
`backworks modes` (inventory). evolve imports core, config, record, learn and answer.
"""
