if then fi fi
