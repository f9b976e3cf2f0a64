"""Panels of the control room. Each renders what it is given and posts messages up."""
