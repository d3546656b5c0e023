"""model/geometry"""
