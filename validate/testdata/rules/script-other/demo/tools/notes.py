#!/usr/bin/env python3
print("not checked")
