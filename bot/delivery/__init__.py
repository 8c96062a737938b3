"""Delivery: from a stored story to messages in chats.

`planner` decides (pure) which chat gets a story, when and why, and re-checks
it when a row falls due; `times` computes quiet-hour and digest release times;
`keywords` matches a chat's own terms; `render` turns stories into Telegram
HTML (pure) and `alerts` feeds it names and hashtags; `worker` sends due outbox
rows, paced by `pacing` within Telegram's limits, to the forum topic `threads`
picks, and applies what `failures` decides after a failed send.
"""
