"""The requester's side: drafts, probe photos, submission under the policy, answers to a
reviewer's questions."""
