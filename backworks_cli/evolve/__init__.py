"""Evolving an endpoint from one mode to another (promote): the plan and its application to
backworks.yaml with the user's comments kept, the handler files a runtime endpoint starts
from, and the inventory of endpoints and their modes behind `backworks modes`. evolve
imports core, config, record, learn and answer.
"""
