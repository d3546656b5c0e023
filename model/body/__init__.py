"""model/body"""
