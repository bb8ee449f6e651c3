"""R8 retention: personal data of closed cases purged once their jurisdiction's period is over."""
