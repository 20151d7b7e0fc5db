# Why it works: 1.5: two leave at t=0 (the burst), then one every 1/4 s: the 8th at 6 x 0.25 s.
# The common wrong approach: 2 (8 x 0.25), forgetting that the burst sends the first two at
# once.

t1 = 1.5
