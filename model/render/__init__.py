"""model/render"""
