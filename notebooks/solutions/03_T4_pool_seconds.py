# Why it works: 2: three workers take three emails at once: two rounds of 1 second.
# The common wrong approach: 6, as if one worker sent them all.

t4 = 2
