"""The work-order domain (12345 接诉即办): orders, their lifecycle, deadlines, audit trail and rates; no HTTP."""
