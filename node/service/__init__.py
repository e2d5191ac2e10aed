"""The service desk (客服): tickets (问题单) with their threads and deadlines, lesson ratings and
surveys, the figures they add to the refund-risk score."""
