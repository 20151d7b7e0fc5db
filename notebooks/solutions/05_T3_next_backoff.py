# Why it works: 16: after try k the wait is backoff x factor**(k-1) = 2 x 2**3.
# The common wrong approach: 10, adding 2 each time: backoff multiplies the wait, it does not
# add to it.

t3 = 16
