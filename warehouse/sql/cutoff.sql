-- The last date in the data: a follow-up wave counts as due when it fell before it.
SELECT max(completed_at) FROM attune.responses
