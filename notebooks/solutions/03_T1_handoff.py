# Why it works: (b): the request only puts a job in a line and answers; a worker sends the email
# afterwards.
# The common wrong approach: (a): the email is still sent, but no longer inside the request.

t1 = "b"
