"""model/eval"""
