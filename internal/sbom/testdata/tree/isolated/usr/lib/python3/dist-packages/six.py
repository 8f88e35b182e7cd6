# six
